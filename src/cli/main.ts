import { Command } from "commander";
import { registerCommands } from "./commands/index.ts";

const program = new Command()
  .name("microseg")
  .description("Label-based micro-segmentation for containers and Kubernetes")
  .version("0.1.0")
  .showHelpAfterError();

registerCommands(program);

await program.parseAsync(process.argv);
