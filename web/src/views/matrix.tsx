// The reachability matrix for a namespace (or all) on one port, from the matrix API; a cell
// opens its explanation.
import { useMemo, useState } from "preact/hooks";
import { matrix } from "../api.ts";
import { Choice } from "../choice.tsx";
import { ExplanationOf } from "../explanation.tsx";
import type { FlowQuery } from "../graph-model.ts";
import type { Route } from "../route.ts";
import { useAsync } from "../use-async.ts";

/** Rows and columns drawn at most; a namespace or a selector narrows larger sets. */
const MAX_SIDE = 60;

export function MatrixView({ route }: { route: Route }) {
  const m = useAsync(matrix, []);
  const [namespace, setNamespace] = useState(route.params.get("namespace") ?? "");
  const [port, setPort] = useState(route.params.get("port") ?? "");
  const [cell, setCell] = useState<FlowQuery>();
  const namespaces = useMemo(
    () => [...new Set((m.value?.workloads ?? []).map((w) => w.split("/")[0] ?? ""))].sort(),
    [m.value],
  );
  const ports = (m.value?.ports ?? []).map((p) => `${p.port}/${p.protocol}`);
  const chosenPort = port || ports[0] || "";
  const rows = (m.value?.workloads ?? []).filter(
    (w) => !namespace || w.startsWith(`${namespace}/`),
  );
  const side = rows.slice(0, MAX_SIDE);
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
        <Choice label="Port" value={chosenPort} options={ports} onChange={setPort} />
        {rows.length > MAX_SIDE && (
          <span class="muted">
            first {MAX_SIDE} of {rows.length}: choose a namespace
          </span>
        )}
      </div>
      {m.error && <p class="errors">{m.error.message}</p>}
      <div class="split">
        <div class="panel">
          <table class="matrix" data-testid="matrix">
            <thead>
              <tr>
                <th>from \ to</th>
                {side.map((to) => (
                  <th key={to} class="rot" scope="col">
                    {to}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {side.map((from) => (
                <tr key={from}>
                  <th scope="row">{from}</th>
                  {side.map((to) => {
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
