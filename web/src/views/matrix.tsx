// The reachability matrix for a namespace (or all) and row and column selectors, on one port:
// the server computes only the cells asked for (`GET /api/v1/matrix?namespace=&from=&to=`, as
// `microseg matrix -n --from --to`); a cell opens its explanation.
import { useMemo, useState } from "preact/hooks";
import { matrix, snapshot } from "../api.ts";
import { Choice } from "../choice.tsx";
import { ExplanationOf } from "../explanation.tsx";
import { type FlowQuery, workloadsOf } from "../graph-model.ts";
import type { Route } from "../route.ts";
import { useAsync } from "../use-async.ts";

/** Rows and columns drawn at most; a namespace or a selector narrows larger sets. */
const MAX_SIDE = 60;

/** A selector text field, committed on change (Enter or leaving it), as the server takes it. */
function SelectorInput(p: {
  label: string;
  value: string;
  placeholder: string;
  onChange: (value: string) => void;
}) {
  return (
    <label>
      {p.label}
      <input
        value={p.value}
        onChange={(e) => p.onChange(e.currentTarget.value)}
        placeholder={p.placeholder}
      />
    </label>
  );
}

/** Each distinct value in first-seen order. */
const distinct = (xs: Iterable<string>) => [...new Set(xs)];

export function MatrixView({ route }: { route: Route }) {
  const [namespace, setNamespace] = useState(route.params.get("namespace") ?? "");
  const [rowSelector, setRowSelector] = useState(route.params.get("from") ?? "");
  const [columnSelector, setColumnSelector] = useState(route.params.get("to") ?? "");
  const [port, setPort] = useState(route.params.get("port") ?? "");
  const [cell, setCell] = useState<FlowQuery>();
  const world = useAsync(snapshot, []);
  const m = useAsync(
    () =>
      matrix({
        ...(namespace ? { namespace } : {}),
        ...(rowSelector ? { from: rowSelector } : {}),
        ...(columnSelector ? { to: columnSelector } : {}),
      }),
    [namespace, rowSelector, columnSelector],
  );
  const namespaces = useMemo(
    () => distinct(workloadsOf(world.value?.items ?? []).map((w) => w.namespace)).sort(),
    [world.value],
  );
  const ports = (m.value?.ports ?? []).map((p) => `${p.port}/${p.protocol}`);
  const chosenPort = port || ports[0] || "";
  // Rows are the cells' sources, columns their destinations (the selectors may differ).
  const [rows, columns] = useMemo(() => {
    const results = m.value?.results ?? [];
    return [distinct(results.map((c) => c.from)), distinct(results.map((c) => c.to))];
  }, [m.value]);
  const shownRows = rows.slice(0, MAX_SIDE);
  const shownColumns = columns.slice(0, MAX_SIDE);
  const cells = useMemo(() => {
    const out = new Map<string, boolean>();
    for (const c of m.value?.results ?? [])
      if (`${c.port}/${c.protocol}` === chosenPort) out.set(`${c.from}|${c.to}`, c.allowed);
    return out;
  }, [m.value, chosenPort]);
  return (
    <section aria-labelledby="matrix-title" data-ready={m.value ? "true" : "false"}>
      <h2 id="matrix-title">Reachability matrix</h2>
      <div class="toolbar">
        <Choice
          label="Namespace"
          value={namespace}
          options={[["", "all"], ...namespaces]}
          onChange={setNamespace}
        />
        <SelectorInput
          label="Rows (selector)"
          value={rowSelector}
          onChange={setRowSelector}
          placeholder="role == 'ldap-client'"
        />
        <SelectorInput
          label="Columns (selector)"
          value={columnSelector}
          onChange={setColumnSelector}
          placeholder="app == 'ldap'"
        />
        <Choice label="Port" value={chosenPort} options={ports} onChange={setPort} />
        {(rows.length > MAX_SIDE || columns.length > MAX_SIDE) && (
          <span class="muted">
            first {MAX_SIDE} of {rows.length} × {columns.length}: choose a namespace or selectors
          </span>
        )}
      </div>
      {m.error && (
        <p class="errors" data-testid="matrix-error">
          {m.error.message}
        </p>
      )}
      <div class="split">
        <div class="panel">
          <table class="matrix" data-testid="matrix">
            <thead>
              <tr>
                <th>from \ to</th>
                {shownColumns.map((to) => (
                  <th key={to} class="rot" scope="col">
                    {to}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {shownRows.map((from) => (
                <tr key={from}>
                  <th scope="row">{from}</th>
                  {shownColumns.map((to) => {
                    const allowed = cells.get(`${from}|${to}`);
                    const [p, protocol = "TCP"] = chosenPort.split("/");
                    return (
                      <td key={to} class={`cell ${allowed ? "yes" : "no"}`}>
                        <button
                          type="button"
                          class="link"
                          aria-label={`${from} to ${to}: ${allowed ? "allowed" : "denied"}`}
                          onClick={() => setCell({ from, to, port: Number(p), protocol })}
                        >
                          {allowed ? "✓" : "✗"}
                        </button>
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div class="panel">
          {cell ? <ExplanationOf flow={cell} /> : <p class="muted">Choose a cell to explain it.</p>}
        </div>
      </div>
    </section>
  );
}
