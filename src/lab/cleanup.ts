// Teardowns to run if the process is interrupted or exits with a lab still up. Ctrl-C during
// `lab up` must not leave namespaces and probers behind.

const pending = new Set<() => void>();
const signals = ["SIGINT", "SIGTERM"] as const;

function runAll(): void {
  for (const teardown of [...pending]) {
    pending.delete(teardown);
    try {
      teardown();
    } catch (e) {
      process.stderr.write(`lab teardown failed: ${(e as Error).message}\n`);
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  process.exit(signal === "SIGINT" ? 130 : 143);
}

export function registerTeardown(teardown: () => void): void {
  if (pending.size === 0) {
    for (const s of signals) process.on(s, onSignal);
    process.on("exit", runAll);
  }
  pending.add(teardown);
}

export function unregisterTeardown(teardown: () => void): void {
  pending.delete(teardown);
  if (pending.size === 0) {
    for (const s of signals) process.off(s, onSignal);
    process.off("exit", runAll);
  }
}
