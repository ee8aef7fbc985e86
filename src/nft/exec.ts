// Runs the nft binary, in a network namespace when asked, feeding a script on stdin. Bounded in
// time: a hung nft is killed rather than waited for.

import { spawn } from "node:child_process";
import { NftError } from "./errors.ts";

export interface NftTarget {
  /** Network namespace (as `ip netns` names it) to run nft in; the caller's own when unset. */
  netns?: string;
  /** Kills nft after this long; 30 s by default. */
  timeoutMs?: number;
}

export interface NftOutput {
  code: number;
  stdout: string;
  stderr: string;
}

export function runNft(args: string[], target: NftTarget, input = ""): Promise<NftOutput> {
  const argv = target.netns
    ? ["ip", "netns", "exec", target.netns, "nft", ...args]
    : ["nft", ...args];
  const timeoutMs = target.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new NftError("exec", `cannot run ${argv.join(" ")}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString();
      if (code === null) {
        reject(
          new NftError(
            "exec",
            `${argv.join(" ")} killed by ${signal} after ${timeoutMs} ms`,
            stderr,
          ),
        );
        return;
      }
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr });
    });
    // nft may exit before reading everything (a syntax error); its exit code tells the story.
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}
