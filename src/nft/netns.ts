// Enters a network namespace (as `ip netns` names it) on the calling thread only: Linux keeps
// the network namespace per thread, so a worker thread can live in a node's namespace while
// the rest of the process stays where it is. Every socket the thread opens afterwards (the
// netlink socket of libnftables) belongs to that namespace for good, also once the thread has
// left it (`inNetns`).

import { closeSync, fstatSync, openSync, readlinkSync, writeSync } from "node:fs";
import koffi from "koffi";

const CLONE_NEWNET = 0x40000000;

export function netnsPath(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === "." || name === "..") {
    throw new Error(`invalid network namespace name ${JSON.stringify(name)}`);
  }
  return `/run/netns/${name}`;
}

/**
 * Moves the calling thread into the namespace and checks that it is there (the thread's
 * namespace inode equals the named one's), throwing otherwise: a thread left in the wrong
 * namespace would write another node's (or the host's) firewall.
 */
export function enterNetns(name: string): void {
  const path = netnsPath(name);
  const fd = openSync(path, "r");
  try {
    joinNetns(fd, path);
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs `fn` with the calling thread in the namespace, then brings the thread back to the one it
 * was in, checked as on the way in. What `fn` opens (a libnftables context's socket) stays in
 * the namespace. Failing to come back is fatal: the thread (the main one, say) would go on in a
 * node's namespace.
 */
export function inNetns<T>(name: string, fn: () => T): T {
  const home = openSync("/proc/thread-self/ns/net", "r");
  try {
    enterNetns(name);
    try {
      return fn();
    } finally {
      try {
        joinNetns(home, "the thread's own namespace");
      } catch (e) {
        // Written synchronously: a warning would be printed after the abort, that is never.
        writeSync(2, `microseg: cannot leave netns ${name}: ${String(e)}\n`);
        process.abort();
      }
    }
  } finally {
    closeSync(home);
  }
}

let setns: ((fd: number, nstype: number) => number) | undefined;

function joinNetns(fd: number, what: string): void {
  setns ??= koffi.load("libc.so.6").func("int setns(int fd, int nstype)");
  if (setns(fd, CLONE_NEWNET) !== 0) {
    throw new Error(`setns(${what}) failed (errno ${koffi.errno()})`);
  }
  const want = `net:[${fstatSync(fd).ino}]`;
  const now = readlinkSync("/proc/thread-self/ns/net");
  if (now !== want) throw new Error(`thread is in ${now} after setns(${what}), not ${want}`);
}
