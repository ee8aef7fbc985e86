import type { Command } from "commander";
import { registerAgent } from "./agent.ts";
import { registerAlerts } from "./alerts.ts";
import { registerApply } from "./apply.ts";
import { registerDelete } from "./delete.ts";
import { registerDescribe } from "./describe.ts";
import { registerExplain } from "./explain.ts";
import { registerFlows } from "./flows.ts";
import { registerGet } from "./get.ts";
import { registerLab } from "./lab.ts";
import { registerLabel } from "./label.ts";
import { registerMatrix } from "./matrix.ts";
import { registerServer } from "./server.ts";
import { registerUp } from "./up.ts";
import { registerValidate } from "./validate.ts";

// Each command lives in its own module and adds itself to the program here.
export function registerCommands(program: Command): void {
  registerApply(program);
  registerGet(program);
  registerDescribe(program);
  registerDelete(program);
  registerLabel(program);
  registerValidate(program);
  registerMatrix(program);
  registerExplain(program);
  registerFlows(program);
  registerAlerts(program);
  registerLab(program);
  registerAgent(program);
  registerUp(program);
  registerServer(program);
}
