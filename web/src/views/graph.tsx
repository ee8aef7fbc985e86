// The service graph: applications inside their namespaces, edges for observed flows coloured by
// verdict and kept live from the flows stream; the policy overlay adds what policy allows
// (from the matrix). An edge's records and explanation open beside the graph, from a click on
// the graph or from the edge table below it (the keyboard's way in).
import cytoscape from "cytoscape";
import fcose from "cytoscape-fcose";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { follow, type Matrix, matrix, projectedFlows, snapshot } from "../api.ts";
import { Choice } from "../choice.tsx";
import { ExplanationOf } from "../explanation.tsx";
import {
  buildGraph,
  type EdgeState,
  flowOfRecord,
  GRAPH_RECORD,
  type Graph,
  type GraphEdge,
  type GraphFilter,
  type GraphRecord,
  workloadsOf,
} from "../graph-model.ts";
import { projectionParam } from "../projection.ts";
import type { Route } from "../route.ts";
import { href } from "../route.ts";
import { useAsync } from "../use-async.ts";
import { VerdictCells } from "../verdict-cells.tsx";

cytoscape.use(fcose);

const COLOURS: Record<EdgeState, string> = {
  allowed: "#1a7f37",
  denied: "#cf222e",
  mixed: "#bc4c00",
  unused: "#8c959f",
  "would-deny": "#8250df",
};

const STATE_WORDS: Record<EdgeState, string> = {
  allowed: "allowed",
  denied: "denied",
  mixed: "allowed and denied",
  unused: "allowed by policy, unused",
  "would-deny": "observed, policy now denies",
};

const SINCE = ["5m", "15m", "1h", "6h", "24h"];

/** Records kept in the page at most (the newest); older ones fall off the graph. */
const MAX_RECORDS = 50_000;

function style(): cytoscape.StylesheetJson {
  return [
    {
      selector: "node",
      style: {
        label: "data(label)",
        "font-size": 11,
        "background-color": "#0969da",
        width: 16,
        height: 16,
        "text-valign": "bottom",
        "text-margin-y": 3,
      },
    },
    {
      selector: ":parent",
      style: {
        "background-color": "#f0f4f8",
        "border-color": "#9aa5b1",
        "border-width": 1,
        "text-valign": "top",
        "font-weight": "bold",
        "font-size": 13,
        padding: "18px",
        shape: "round-rectangle",
      },
    },
    { selector: "node.outside", style: { "background-color": "#6e7781", shape: "diamond" } },
    {
      selector: "edge",
      style: {
        width: 2,
        "curve-style": "bezier",
        "target-arrow-shape": "triangle",
        "line-color": "data(colour)",
        "target-arrow-color": "data(colour)",
      },
    },
    { selector: "edge.unused, edge.would-deny", style: { "line-style": "dashed" } },
    { selector: "edge:selected", style: { width: 5 } },
  ];
}

function elementsOf(g: Graph): cytoscape.ElementDefinition[] {
  const out: cytoscape.ElementDefinition[] = [];
  const namespaces = new Set(g.nodes.map((n) => n.namespace).filter((n) => n !== ""));
  for (const ns of namespaces) out.push({ data: { id: `ns:${ns}`, label: ns } });
  for (const n of g.nodes) {
    out.push({
      data: {
        id: n.id,
        label: n.workloads > 1 ? `${n.label} ×${n.workloads}` : n.label,
        ...(n.namespace ? { parent: `ns:${n.namespace}` } : {}),
      },
      classes: n.namespace ? "" : "outside",
    });
  }
  for (const e of g.edges) {
    out.push({
      data: { id: e.id, source: e.from, target: e.to, colour: COLOURS[e.state] },
      classes: e.state,
    });
  }
  return out;
}

/** Brings the drawing to `g`: adds and removes what changed, lays out only when nodes came. */
function sync(cy: cytoscape.Core, g: Graph): boolean {
  const wanted = elementsOf(g);
  const ids = new Set(wanted.map((d) => d.data.id as string));
  const added: cytoscape.ElementDefinition[] = [];
  cy.batch(() => {
    cy.elements()
      .filter((el) => !ids.has(el.id()))
      .remove();
    for (const d of wanted) {
      const el = cy.getElementById(d.data.id as string);
      if (el.empty()) added.push(d);
      else if (el.isEdge()) {
        el.data("colour", d.data.colour);
        el.classes(d.classes ?? "");
      }
    }
    cy.add(added);
  });
  return added.some((d) => d.data.source === undefined);
}

function layout(cy: cytoscape.Core) {
  // Large graphs get the draft quality: the first render stays within its budget.
  const big = cy.nodes().length > 300;
  cy.layout({
    name: "fcose",
    quality: big ? "draft" : "default",
    animate: false,
    randomize: true,
    nodeDimensionsIncludeLabels: true,
    nodeRepulsion: () => 20000,
    idealEdgeLength: () => 120,
    nodeSeparation: 100,
    // Applications with no edge are tiled inside their namespace, with room for their labels.
    tilingPaddingVertical: 30,
    tilingPaddingHorizontal: 40,
    packComponents: true,
  } as cytoscape.LayoutOptions).run();
  // A small graph is not blown up to fill the box: labels stay at reading size.
  cy.fit(undefined, 30);
  if (cy.zoom() > 1.3) {
    cy.zoom(1.3);
    cy.center();
  }
}

/**
 * The records of the time range: the stored ones in one GET (quick even for 10,000), then the
 * live stream from the last id read, as the CLI's `flows --follow` does. The graph is rebuilt
 * at most every 250 ms while records stream in.
 */
function useFlows(since: string): { records: GraphRecord[]; live: boolean; version: number } {
  const buffer = useRef<GraphRecord[]>([]);
  const [version, setVersion] = useState(0);
  const [live, setLive] = useState(false);
  useEffect(() => {
    buffer.current = [];
    setVersion(0);
    let scheduled = 0;
    let stop = () => {};
    let ended = false;
    const bump = () => setVersion((v) => v + 1);
    projectedFlows({ since, limit: MAX_RECORDS }, GRAPH_RECORD).then(
      (stored) => {
        if (ended) return;
        buffer.current = stored;
        bump();
        stop = follow<GraphRecord>(
          `/api/v1/flows?since=${encodeURIComponent(since)}&fields=${projectionParam(GRAPH_RECORD)}`,
          (r) => {
            buffer.current.push(r);
            if (buffer.current.length > MAX_RECORDS) buffer.current.splice(0, MAX_RECORDS / 10);
            scheduled ||= window.setTimeout(() => {
              scheduled = 0;
              bump();
            }, 250);
          },
          setLive,
          stored.at(-1)?.id ?? 0,
        );
      },
      () => setLive(false),
    );
    return () => {
      ended = true;
      stop();
      clearTimeout(scheduled);
    };
  }, [since]);
  return { records: buffer.current, live, version };
}

export function GraphView({ route }: { route: Route }) {
  const [filter, setFilter] = useState<GraphFilter>({
    namespace: route.params.get("namespace") ?? "",
    labels: route.params.get("labels") ?? "",
    verdict: (route.params.get("verdict") as GraphFilter["verdict"]) ?? "all",
  });
  const [since, setSince] = useState(route.params.get("since") ?? "1h");
  const [overlay, setOverlay] = useState(false);
  const [selected, setSelected] = useState<string | undefined>();
  const world = useAsync(snapshot, []);
  const policy = useAsync<Matrix | undefined>(
    () => (overlay ? matrix() : Promise.resolve(undefined)),
    [overlay],
  );
  const flows = useFlows(since);
  const workloads = useMemo(() => workloadsOf(world.value?.items ?? []), [world.value]);
  const graph = useMemo(
    () => buildGraph(workloads, flows.records, filter, policy.value),
    [workloads, flows.version, flows.records, filter, policy.value],
  );
  const container = useRef<HTMLDivElement>(null);
  const cy = useRef<cytoscape.Core | undefined>(undefined);

  useEffect(() => {
    const c = cytoscape({
      container: container.current,
      style: style(),
      wheelSensitivity: 0.3,
      minZoom: 0.05,
      maxZoom: 4,
    });
    c.on("tap", "edge", (e) => setSelected(e.target.id()));
    c.on("tap", (e) => e.target === c && setSelected(undefined));
    cy.current = c;
    return () => c.destroy();
  }, []);

  useEffect(() => {
    const c = cy.current;
    if (!c || !world.value) return;
    if (sync(c, graph)) layout(c);
    // The browser test reads when the graph was last drawn and from how many records.
    const main = document.getElementById("view");
    main?.setAttribute("data-drawn-records", String(flows.records.length));
    main?.setAttribute("data-drawn-at", String(Math.round(performance.now())));
    c.$("edge:selected").unselect();
    if (selected) c.getElementById(selected).select();
  }, [graph, world.value, selected]);

  const edge = graph.edges.find((e) => e.id === selected);
  const set = (patch: Partial<GraphFilter>) => setFilter({ ...filter, ...patch });
  return (
    <section aria-labelledby="graph-title" data-ready={world.value ? "true" : "false"}>
      <h2 id="graph-title">Service graph</h2>
      <div class="toolbar">
        <Choice
          label="Namespace"
          value={filter.namespace ?? ""}
          options={[["", "all"], ...graph.namespaces]}
          onChange={(namespace) => set({ namespace })}
        />
        <label>
          Labels (key=value, …)
          <input
            value={filter.labels}
            onChange={(e) => set({ labels: e.currentTarget.value })}
            placeholder="app=orderInput"
          />
        </label>
        <Choice
          label="Verdict"
          value={filter.verdict ?? "all"}
          options={[
            ["all", "all"],
            ["allow", "allowed"],
            ["deny", "denied"],
          ]}
          onChange={(v) => set({ verdict: v as GraphFilter["verdict"] })}
        />
        <Choice label="Since" value={since} options={SINCE} onChange={setSince} />
        <label class="check">
          <span>
            <input
              type="checkbox"
              checked={overlay}
              onChange={(e) => setOverlay(e.currentTarget.checked)}
            />{" "}
            Allowed by policy
          </span>
        </label>
        <span class="muted" data-testid="live">
          {flows.live ? "live" : "connecting…"} · {flows.records.length} records
        </span>
      </div>
      <div class="legend" aria-hidden="true">
        {(Object.keys(COLOURS) as EdgeState[]).map((s) => (
          <span key={s}>
            <i style={{ background: COLOURS[s] }} />
            {STATE_WORDS[s]}
          </span>
        ))}
      </div>
      {world.error && <p class="errors">{world.error.message}</p>}
      {policy.error && <p class="errors">matrix: {policy.error.message}</p>}
      <div class="split">
        <div id="graph" ref={container} role="img" aria-label="Service graph" />
        <div class="panel">
          {edge ? (
            <EdgePanel edge={edge} />
          ) : (
            <EdgeTable edges={graph.edges} onSelect={setSelected} />
          )}
        </div>
      </div>
    </section>
  );
}

function EdgeTable({
  edges,
  onSelect,
}: {
  edges: readonly GraphEdge[];
  onSelect: (id: string) => void;
}) {
  const shown = edges.slice(0, 300);
  return (
    <>
      <h3>Edges ({edges.length})</h3>
      <table data-testid="edges">
        <thead>
          <tr>
            <th>from → to</th>
            <th>state</th>
            <th>ports</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((e) => (
            <tr key={e.id} data-state={e.state}>
              <td>
                <button type="button" class="link" onClick={() => onSelect(e.id)}>
                  {e.from} → {e.to}
                </button>
              </td>
              <td class={`state-${e.state}`}>{STATE_WORDS[e.state]}</td>
              <td>{[...e.ports].join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {edges.length > shown.length && (
        <p class="muted">{edges.length - shown.length} more: narrow with the filters.</p>
      )}
    </>
  );
}

function EdgePanel({ edge }: { edge: GraphEdge }) {
  const [explained, setExplained] = useState(edge.sample);
  useEffect(() => setExplained(edge.sample), [edge.id]);
  return (
    <div data-testid="edge-panel">
      <h3>
        {edge.from} → {edge.to}
      </h3>
      <p class={`state-${edge.state}`}>
        {STATE_WORDS[edge.state]} · {edge.allowed} allowed, {edge.denied} denied connections
        {edge.wouldDeny > 0 ? ` · ${edge.wouldDeny} now denied by policy` : ""}
      </p>
      <h3>Explanation</h3>
      {explained ? <ExplanationOf flow={explained} /> : <p class="muted">nothing to explain</p>}
      <h3>Flow records ({edge.records.length})</h3>
      <table>
        <thead>
          <tr>
            <th>last seen</th>
            <th>flow</th>
            <th>action</th>
            <th>at</th>
            <th>policy / rule</th>
          </tr>
        </thead>
        <tbody>
          {edge.records
            .slice(-100)
            .reverse()
            .map((r) => (
              <tr key={r.id}>
                <td>{new Date(r.lastSeen).toLocaleTimeString()}</td>
                <td>
                  <button type="button" class="link" onClick={() => setExplained(flowOfRecord(r))}>
                    {r.fields.source_name || r.fields.source_ip} →{" "}
                    {r.fields.dest_name || r.fields.dest_ip}:{r.fields.dest_port}/{r.fields.proto}
                  </button>
                </td>
                <VerdictCells fields={r.fields} />
                <td>
                  {r.fields.policy ? (
                    <a href={href("policies", { policy: r.fields.policy })}>{r.fields.policy}</a>
                  ) : (
                    "—"
                  )}{" "}
                  {r.fields.rule}
                </td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
}
