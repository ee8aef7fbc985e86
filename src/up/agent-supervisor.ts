// `microseg up` restarts a node agent that exits, as the kubelet restarts a DaemonSet's pod:
// the API server is supervised the same way (server-process.ts). The node's table stays in
// the kernel while its agent is away (nothing removes it), and the new agent keeps it until
// its first full sync replaces it in one transaction, so established connections and the
// last good policy hold throughout. An agent that keeps dying young is restarted with a
// doubling wait, so a crash loop does not take the machine's cores.
import type { AgentExit, Lab } from "../lab/index.ts";
import { Backoff, type BackoffOptions } from "../util/backoff.ts";

export interface AgentSupervisorOptions {
  /** A line for the user about each exit and restart. */
  readonly say: (line: string) => void;
  /** First and longest wait before a restart; 200 ms and 5 s by default. */
  readonly backoffMs?: Omit<BackoffOptions, "jitter">;
}

/** An agent that ran this long before it exited is restarted after the first wait again. */
const STEADY_MS = 10_000;

export interface AgentSupervisor {
  /** No more restarts (up is stopping: the lab goes down next). */
  stop(): void;
}

/** What the supervisor needs of a lab: its nodes, its agents' exits, and a restart. */
export type SupervisedLab = Pick<Lab, "plan" | "exists" | "onAgentExit" | "restartAgent">;

export function superviseAgents(lab: SupervisedLab, opts: AgentSupervisorOptions): AgentSupervisor {
  const backoff = { first: 200, max: 5_000, ...opts.backoffMs, jitter: 0 };
  const nodes = new Map<string, { startedAt: number; backoff: Backoff }>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const now = Date.now();
  for (const node of lab.plan.nodes)
    nodes.set(node.name, { startedAt: now, backoff: new Backoff(backoff) });

  /** A lab brought down by another process (`microseg lab down`) has nothing left to enforce. */
  const gone = (node: string): boolean => {
    if (lab.exists()) return false;
    opts.say(`agent on ${node} exited and the lab is gone; not restarting it`);
    return true;
  };
  const restart = (node: string): void => {
    if (stopped || gone(node)) return;
    const entry = nodes.get(node)!;
    try {
      const pid = lab.restartAgent(node);
      entry.startedAt = Date.now();
      opts.say(`agent on ${node} restarted (pid ${pid})`);
    } catch (e) {
      opts.say(`agent on ${node} could not be restarted: ${(e as Error).message}`);
      schedule(node);
    }
  };
  const schedule = (node: string): number => {
    const wait = nodes.get(node)!.backoff.next();
    const timer = setTimeout(() => {
      timers.delete(timer);
      restart(node);
    }, wait);
    timers.add(timer);
    return wait;
  };
  const off = lab.onAgentExit((exit: AgentExit) => {
    if (stopped) return;
    const entry = nodes.get(exit.node);
    if (!entry || gone(exit.node)) return;
    if (Date.now() - entry.startedAt >= STEADY_MS) entry.backoff.reset();
    const wait = schedule(exit.node);
    opts.say(
      `agent on ${exit.node} (pid ${exit.pid}) exited (${exit.signal ?? `code ${exit.code}`}); ` +
        `restarting in ${wait} ms. The node keeps enforcing its last state meanwhile.`,
    );
  });
  return {
    stop() {
      stopped = true;
      off();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
