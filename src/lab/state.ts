// The lab's record of what it created, written before each step so that teardown finds
// everything even after a crash halfway through `up`.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface LabState {
  id: string;
  /** Every netns of the lab starts with it. */
  prefix: string;
  /** Namespaces the lab created or was about to create, in creation order. */
  netns: string[];
  /** Prober processes, for information: teardown finds processes by namespace. */
  pids: number[];
}

export const defaultStateDir = "/run/microseg/lab";

export function writeState(file: string, state: LabState): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}

export function readState(file: string): LabState {
  return JSON.parse(readFileSync(file, "utf8")) as LabState;
}

export function removeState(file: string): void {
  rmSync(file, { force: true });
}
