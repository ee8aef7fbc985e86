import type { Command } from "commander";

type Register = (program: Command) => void;

/**
 * Each command lives in its own module and adds itself to the program. The modules are loaded
 * on demand: the agent's alone pulls in the Kubernetes client (most of a second and 100 MB),
 * and every module costs a round trip through tsx's loader, so `microseg validate` loads only
 * what validate needs.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  apply: async () => (await import("./apply.ts")).registerApply,
  get: async () => (await import("./get.ts")).registerGet,
  describe: async () => (await import("./describe.ts")).registerDescribe,
  delete: async () => (await import("./delete.ts")).registerDelete,
  label: async () => (await import("./label.ts")).registerLabel,
  validate: async () => (await import("./validate.ts")).registerValidate,
  matrix: async () => (await import("./matrix.ts")).registerMatrix,
  explain: async () => (await import("./explain.ts")).registerExplain,
  lint: async () => (await import("./lint.ts")).registerLint,
  cost: async () => (await import("./cost.ts")).registerCost,
  simulate: async () => (await import("./simulate.ts")).registerSimulate,
  recommend: async () => (await import("./recommend.ts")).registerRecommend,
  flows: async () => (await import("./flows.ts")).registerFlows,
  alerts: async () => (await import("./alerts.ts")).registerAlerts,
  lab: async () => (await import("./lab.ts")).registerLab,
  agent: async () => (await import("./agent.ts")).registerAgent,
  "cni-install": async () => (await import("./cni-install.ts")).registerCniInstall,
  up: async () => (await import("./up.ts")).registerUp,
  server: async () => (await import("./server.ts")).registerServer,
};

/**
 * Registers the command that `args` (the words after `microseg`) names, or every command when
 * they name none of them (`--help`, `help`, a typo), so the overall help and commander's
 * suggestions see them all.
 */
export async function registerCommands(
  program: Command,
  args: readonly string[] = [],
): Promise<void> {
  const word = args.find((a) => !a.startsWith("-"));
  const named = word !== undefined && Object.hasOwn(COMMANDS, word) ? [word] : undefined;
  const loaders = (named ?? Object.keys(COMMANDS)).map((name) => COMMANDS[name]!);
  for (const register of await Promise.all(loaders.map((load) => load()))) register(program);
}
