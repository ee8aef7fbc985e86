import type { Command } from "commander";
import { registerAgent } from "./agent.ts";
import { registerExplain } from "./explain.ts";
import { registerLab } from "./lab.ts";
import { registerMatrix } from "./matrix.ts";
import { registerServer } from "./server.ts";
import { registerUp } from "./up.ts";
import { registerValidate } from "./validate.ts";

// Each command lives in its own module and adds itself to the program here.
export function registerCommands(program: Command): void {
  registerValidate(program);
  registerMatrix(program);
  registerExplain(program);
  registerLab(program);
  registerAgent(program);
  registerUp(program);
  registerServer(program);
}
