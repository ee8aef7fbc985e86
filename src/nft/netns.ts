// Enters a network namespace (as `ip netns` names it) on the calling thread only: Linux keeps
// the network namespace per thread, so a worker thread can live in a node's namespace while
// the rest of the process stays where it is. Every socket the thread opens afterwards (the
// netlink socket of libnftables) belongs to that namespace for good.

import { closeSync, openSync, readlinkSync, statSync } from "node:fs";
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
  const libc = koffi.load("libc.so.6");
  const setns = libc.func("int setns(int fd, int nstype)");
  const fd = openSync(path, "r");
  try {
    if (setns(fd, CLONE_NEWNET) !== 0) {
      throw new Error(`setns(${path}) failed (errno ${koffi.errno()})`);
    }
  } finally {
    closeSync(fd);
  }
  const want = `net:[${statSync(path).ino}]`;
  const now = readlinkSync("/proc/thread-self/ns/net");
  if (now !== want) throw new Error(`thread is in ${now} after setns(${path}), not ${want}`);
}
