// Kernel tests need root. Outside CI they skip with the reason; in CI a missing root is a
// broken setup, so the test file fails loudly instead of passing with nothing run.

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export function rootSkipReason(): string | false {
  if (process.getuid?.() === 0) return false;
  if (process.env.CI) {
    throw new Error("kernel tests need root, and CI is set: run the suite as root");
  }
  return "needs root to create network namespaces (run as root; in CI this fails instead)";
}

/** A fresh network namespace for one test file; remove it in `after`. */
export function createTestNetns(): { name: string; remove(): void } {
  const name = `msxtest-${randomBytes(4).toString("hex")}`;
  execFileSync("ip", ["netns", "add", name]);
  return {
    name,
    remove: () => execFileSync("ip", ["netns", "del", name]),
  };
}
