// `microseg lab up|apply|probe|down`: a network-namespace lab for a manifest set, left running
// between invocations. Probes print in `microseg matrix`'s shape, with real packets behind
// every cell; a probe narrowed to some pods prints the connections it tried.
import type { Command } from "commander";
import { byFromToPort, formatMatrix, parsePortList } from "../../analysis/index.ts";
import {
  defaultStateDir,
  downLab,
  findLab,
  Lab,
  type LabPlan,
  labSpecFromManifests,
  matrixProbes,
  type ObservedCell,
  observedMatrix,
  type PortSpec,
} from "../../lab/index.ts";
import { CliError, loadOrExit, outputFormat } from "../load.ts";
import { formatObject } from "../output.ts";
import { formatTable } from "../table.ts";

interface Where {
  id?: string;
  stateDir: string;
}

function whereOptions(cmd: Command): Command {
  return cmd
    .option("--id <id>", "the lab's id (default: the only lab in the state dir)")
    .option("--state-dir <dir>", "where labs keep their state", defaultStateDir);
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new CliError(`${flag}: "${value}" is not a positive integer`);
  return n;
}

/** --ports as the lab's ports; parsePortList only ever yields TCP, UDP and SCTP. */
function portList(value: string): PortSpec[] {
  return parsePortList(value).map(({ port, protocol }) => ({
    port,
    protocol: protocol as PortSpec["protocol"],
  }));
}

function names(value: string | undefined): string[] | undefined {
  return value
    ?.split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * A narrowed probe (--from or --to) as one line per connection tried: in the whole lab's grid
 * the few cells probed would sit among hundreds of `?`, under a count of the whole grid.
 */
function formatProbes(cells: readonly ObservedCell[]): string {
  const rows = [...cells]
    .sort(byFromToPort)
    .map((c) => [
      c.from,
      c.to,
      `${c.port}/${c.protocol}`,
      c.outcome === "error" ? "error" : c.allowed ? "allowed" : "denied",
      c.outcome,
      `${Math.round(c.ms)}ms`,
    ]);
  const allowed = cells.filter((c) => c.allowed).length;
  return `${formatTable([["FROM", "TO", "PORT", "RESULT", "OUTCOME", "TIME"], ...rows])}${allowed}/${cells.length} allowed\n`;
}

/** Lab failures are about the machine or the input, not bugs: a message, no stack. */
async function run(action: () => Promise<number | undefined>): Promise<void> {
  try {
    process.exitCode = (await action()) ?? 0;
  } catch (e) {
    if (e instanceof CliError) throw e;
    console.error(`microseg lab: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}

function describePlan(plan: LabPlan): string {
  const lines: string[] = [];
  for (const node of plan.nodes) {
    lines.push(`${node.name}  ${node.netns}  ${node.underlayIp} ${node.underlayIp6}`);
    for (const pod of plan.pods.filter((p) => p.node === node.name)) {
      const where = pod.hostNetwork ? "host network" : pod.netns;
      lines.push(`  ${pod.name}  ${pod.ip} ${pod.ip6}  ${where}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

function report(lab: Lab, format: string, verb: string, ms: number, extra: object = {}): void {
  const summary = {
    id: lab.id,
    dir: lab.files.dir,
    manifests: lab.manifestsPath ?? null,
    ms: Math.round(ms),
    ...extra,
    nodes: lab.plan.nodes,
    pods: lab.plan.pods,
    ports: lab.plan.ports,
  };
  if (format === "json") console.log(JSON.stringify(summary));
  else if (format === "yaml") process.stdout.write(formatObject(summary, "yaml"));
  else {
    const enforced = lab.manifestsPath
      ? `agents enforce ${lab.manifestsPath}`
      : "no agents: every path is open";
    console.log(
      `lab ${lab.id} ${verb} in ${(ms / 1000).toFixed(1)} s: ${lab.plan.nodes.length} nodes, ${lab.plan.pods.length} pods; ${enforced}`,
    );
    process.stdout.write(describePlan(lab.plan));
  }
}

function registerUp(lab: Command): void {
  whereOptions(
    lab
      .command("up")
      .description(
        "create a pod per Pod and WorkloadEndpoint, servers and node agents; leave it running",
      )
      .requiredOption("-f, --filename <paths...>", "manifest files or directories")
      .option("--nodes <n>", "number of nodes (the manifests' nodeNames count towards it)", "2")
      .option(
        "--ports <list>",
        "ports every pod serves besides the declared ones, e.g. 80/TCP,53/UDP",
      )
      .option("--no-enforce", "start no node agents: every path stays open")
      .option("-o, --output <format>", "text, json or yaml", "text"),
  ).action(
    (
      options: Where & {
        filename: string[];
        nodes: string;
        ports?: string;
        enforce: boolean;
        output: string;
      },
    ) =>
      run(async () => {
        const format = outputFormat(options.output);
        const nodes = positiveInt("--nodes", options.nodes);
        const ports = options.ports !== undefined ? portList(options.ports) : [];
        const resources = await loadOrExit(options.filename);
        const started = performance.now();
        const opts = {
          nodes,
          ports,
          stateDir: options.stateDir,
          ...(options.id ? { id: options.id } : {}),
        };
        const lab = options.enforce
          ? await Lab.upFromManifests(resources, opts)
          : await Lab.up(labSpecFromManifests(resources, opts), { ...opts, extraPorts: ports });
        // Up is done: from here on, nothing (not even a closed stdout) takes the lab down.
        lab.detach();
        report(lab, format, "up", performance.now() - started);
        return 0;
      }),
  );
}

function registerApply(lab: Command): void {
  whereOptions(
    lab
      .command("apply")
      .description("bring the running lab in line with a new manifest set; waits for the agents")
      .requiredOption("-f, --filename <paths...>", "manifest files or directories")
      .option("-o, --output <format>", "text, json or yaml", "text"),
  ).action((options: Where & { filename: string[]; output: string }) =>
    run(async () => {
      const format = outputFormat(options.output);
      const resources = await loadOrExit(options.filename);
      const lab = Lab.attach(findLab(options.stateDir, options.id));
      const started = performance.now();
      try {
        const changes = await lab.applyManifests(resources);
        report(lab, format, "applied", performance.now() - started, changes);
      } finally {
        lab.detach();
      }
      return 0;
    }),
  );
}

function registerProbe(lab: Command): void {
  whereOptions(
    lab
      .command("probe")
      .description("real connections between the lab's pods, in `microseg matrix`'s shape")
      .option("--ports <list>", "ports to probe (default: every port the lab serves)")
      .option("--from <pods>", "only from these pods, e.g. ns/a,ns/b")
      .option("--to <pods>", "only to these pods")
      .option("--family <4|6>", "address family of the destination", "4")
      .option("--timeout-ms <n>", "per probe; a denied probe takes this long", "1000")
      .option("-o, --output <format>", "text, json or yaml", "text"),
  ).action(
    (
      options: Where & {
        ports?: string;
        from?: string;
        to?: string;
        family: string;
        timeoutMs: string;
        output: string;
      },
    ) =>
      run(async () => {
        const format = outputFormat(options.output);
        if (options.family !== "4" && options.family !== "6")
          throw new CliError(`--family: "${options.family}" is not 4 or 6`);
        const timeoutMs = positiveInt("--timeout-ms", options.timeoutMs);
        const lab = Lab.attach(findLab(options.stateDir, options.id));
        try {
          const from = names(options.from);
          const to = names(options.to);
          const specs = matrixProbes(lab.plan, {
            families: [options.family === "4" ? 4 : 6],
            ...(options.ports !== undefined ? { ports: portList(options.ports) } : {}),
            ...(from ? { from } : {}),
            ...(to ? { to } : {}),
          });
          const results = await lab.probe(specs, { timeoutMs });
          const observed = observedMatrix(
            lab.plan.pods.map((p) => p.name),
            results,
          );
          if (format === "json") console.log(JSON.stringify({ results: observed.results }));
          else if (format === "yaml")
            process.stdout.write(formatObject({ results: observed.results }, "yaml"));
          else if (from || to) process.stdout.write(formatProbes(observed.results));
          else process.stdout.write(formatMatrix(observed));
          return results.some((r) => r.outcome === "error") ? 1 : 0;
        } finally {
          lab.detach();
        }
      }),
  );
}

function registerDown(lab: Command): void {
  whereOptions(
    lab
      .command("down")
      .description("stop every process and delete every namespace and file of the lab"),
  ).action((options: Where) =>
    run(async () => {
      const files = findLab(options.stateDir, options.id);
      const { leftover, processes } = downLab(files);
      if (leftover.length === 0 && processes.length === 0) {
        console.log(`lab ${files.dir} is down`);
        return 0;
      }
      if (leftover.length) console.error(`left over namespaces: ${leftover.join(", ")}`);
      if (processes.length) console.error(`left over processes: ${processes.join(", ")}`);
      return 1;
    }),
  );
}

export function registerLab(program: Command): void {
  const lab = program
    .command("lab")
    .description(
      "a network-namespace lab: pods, real traffic, node agents enforcing the manifests",
    );
  registerUp(lab);
  registerApply(lab);
  registerProbe(lab);
  registerDown(lab);
  lab.addHelpText("after", `\nExamples:\n${Object.values(LAB_EXAMPLES).join("\n")}`);
  for (const sub of lab.commands) {
    const example = LAB_EXAMPLES[sub.name()];
    if (example) sub.addHelpText("after", `\nExamples:\n${example}`);
  }
}

const LAB_EXAMPLES: Record<string, string> = {
  up: "  sudo microseg lab up -f examples/segmented-apps --nodes 2",
  apply: "  sudo microseg lab apply -f scaled-manifests/",
  probe: "  sudo microseg lab probe --ports 8080/TCP -o json",
  down: "  sudo microseg lab down",
};
