import { Command } from "commander";
import { registerCommands } from "./commands/index.ts";

const program = new Command()
  .name("microseg")
  .description("Label-based micro-segmentation for containers and Kubernetes")
  .version("0.1.0")
  .showHelpAfterError();

await registerCommands(program, process.argv.slice(2));

// A reader that stops early (`microseg matrix | head`) closes the pipe: that is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Our errors are typed (they carry a code) and their message names the offending input;
  // they print as the verbs that talk to the server print theirs (failure.ts, not imported
  // here: it loads the datastore for every command). Anything else is a bug and keeps its stack.
  if (error instanceof Error && "code" in error && typeof error.code === "string") {
    console.error(`error: ${error.message}`);
    process.exit(2);
  }
  throw error;
}
