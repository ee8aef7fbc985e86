// The pair the kernel suites share: one network namespace for a test file and a KernelNftables
// (libnftables session) inside it, made before the first test and gone after the last, also when
// a test failed (the namespace is deleted even when closing the session throws).

import { after, before } from "node:test";
import { KernelNftables } from "../../src/nft/index.ts";
import { createTestNetns } from "./needs-root.ts";

export interface KernelNetns {
  /** The namespace's name, for `ip netns exec`. */
  readonly name: string;
  readonly kernel: KernelNftables;
}

/** Registers before/after hooks in the calling describe; read the fields inside its tests. */
export function kernelInTestNetns(): KernelNetns {
  let netns: ReturnType<typeof createTestNetns> | undefined;
  let kernel: KernelNftables | undefined;
  before(() => {
    netns = createTestNetns();
    kernel = new KernelNftables({ netns: netns.name });
  });
  after(async () => {
    try {
      await kernel?.close();
    } finally {
      netns?.remove();
    }
  });
  const made = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the test netns is made in before(): use it in tests");
    return value;
  };
  return {
    get name() {
      return made(netns).name;
    },
    get kernel() {
      return made(kernel);
    },
  };
}
