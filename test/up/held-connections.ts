// Established TCP connections held open between lab pods while a test breaks things: one client
// process per connection inside the source pod's netns (`ip netns exec`), talking to the
// destination pod's server, which echoes (the lab's TCP servers do). A connection that closes or
// fails ends its process, so a drop is seen whenever it happens, not only at the next exchange.
import { type ChildProcess, spawn } from "node:child_process";
import { until } from "./up-process.ts";

// Connects, says so, sends stdin's lines and prints what comes back; exits 3 when the
// connection closes and 4 when it fails.
const client = `
const s = require("net").connect(+process.argv[2], process.argv[1]);
s.on("connect", () => process.stdout.write("connected\\n"));
s.on("data", (d) => process.stdout.write(d));
s.on("close", () => process.exit(3));
s.on("error", (e) => { process.stderr.write(e.message); process.exit(4); });
process.stdin.on("data", (d) => s.write(d));
`;

export interface HeldConnection {
  /** `from -> to port/TCP`, as the matrix names the cell. */
  readonly name: string;
  /** Why the connection ended, once it has. */
  readonly ended: string | undefined;
  /** Sends a line and waits for its echo. */
  roundTrip(text: string, ms: number): Promise<void>;
  close(): Promise<void>;
}

export async function holdConnection(
  name: string,
  netns: string,
  host: string,
  port: number,
  connectMs: number,
): Promise<HeldConnection> {
  const child: ChildProcess = spawn(
    "ip",
    ["netns", "exec", netns, process.execPath, "-e", client, host, String(port)],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  let received = "";
  let stderr = "";
  let ended: string | undefined;
  child.stdout!.on("data", (d: Buffer) => {
    received += d;
  });
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d;
  });
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      ended = `${name}: client exited ${code ?? signal}${stderr ? ` (${stderr.trim()})` : ""}`;
      resolve();
    }),
  );
  const waitFor = (text: string, ms: number) =>
    until(
      `${name} to echo ${text}`,
      () => {
        if (ended) throw new Error(ended);
        return received.includes(text) ? true : undefined;
      },
      ms,
    );
  const held: HeldConnection = {
    name,
    get ended() {
      return ended;
    },
    async roundTrip(text, ms) {
      child.stdin!.write(`${text}\n`);
      await waitFor(text, ms);
    },
    async close() {
      if (ended === undefined && child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
  try {
    await waitFor("connected", connectMs);
  } catch (e) {
    await held.close();
    throw e;
  }
  return held;
}
