// Workloads: a searchable list (windowed: only the rows in sight are drawn, so 1,000 and more
// stay quick) and, for the chosen one, the policies selecting it per direction and tier (the
// describe API), its addresses and its recent flows.
import { useMemo, useState } from "preact/hooks";
import { describe, flows, snapshot } from "../api.ts";
import { type Workload, workloadsOf } from "../graph-model.ts";
import type { Route } from "../route.ts";
import { href } from "../route.ts";
import { useAsync } from "../use-async.ts";
import { VerdictCells } from "../verdict-cells.tsx";

const ROW = 28;
const VISIBLE = 40;

type EndpointDescription = Extract<Awaited<ReturnType<typeof describe>>, { type: "endpoint" }>;

function Direction({ title, d }: { title: string; d: EndpointDescription["ingress"] }) {
  return (
    <div data-testid={`direction-${title.toLowerCase()}`}>
      <h3>{title}</h3>
      {d.open && <p class="muted">{d.open}</p>}
      {d.tiers.map((t) => (
        <div key={t.tier}>
          <strong>tier {t.tier}</strong> <span class="muted">(default {t.defaultAction})</span>
          <ol>
            {t.policies.map((p) => {
              const key = p.namespace ? `${p.namespace}/${p.name}` : p.name;
              return (
                <li key={`${p.kind}/${key}`}>
                  <a href={href("policies", { policy: key })}>{key}</a>{" "}
                  <span class="muted">
                    {p.kind}
                    {p.order !== undefined ? ` · order ${p.order}` : ""}
                  </span>
                </li>
              );
            })}
          </ol>
        </div>
      ))}
    </div>
  );
}

function WorkloadDetail({ w }: { w: Workload }) {
  const d = useAsync(
    () =>
      describe({
        apiVersion: w.kind === "Pod" ? "v1" : "projectcalico.org/v3",
        kind: w.kind,
        namespace: w.namespace,
        name: w.name,
      }),
    [w.id],
  );
  // The server picks the workload's records (a flow selector over either side), newest 50.
  const recent = useAsync(() => {
    const side = (p: string) => `(${p}_namespace == "${w.namespace}" && ${p}_name == "${w.name}")`;
    return flows({ since: "1h", limit: 50, selector: `${side("source")} || ${side("dest")}` }).then(
      (rs) => rs.reverse(),
    );
  }, [w.id]);
  const e = d.value?.type === "endpoint" ? d.value : undefined;
  return (
    <div class="panel" data-testid="workload-detail">
      <h3>{w.id}</h3>
      <p>
        addresses: {(e?.endpoint.addresses ?? w.addresses).join(", ") || "none"}
        {e?.endpoint.node ? ` · node ${e.endpoint.node}` : ""}
      </p>
      <p class="muted">
        {Object.entries(w.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(", ")}
      </p>
      {d.error && <p class="errors">{d.error.message}</p>}
      {e && (
        <div class="pair">
          <Direction title="Ingress" d={e.ingress} />
          <Direction title="Egress" d={e.egress} />
        </div>
      )}
      <h3>Recent flows</h3>
      {recent.value && recent.value.length === 0 && <p class="muted">none in the last hour</p>}
      <table>
        <tbody>
          {(recent.value ?? []).map((r) => (
            <tr key={r.id}>
              <td>{new Date(r.lastSeen).toLocaleTimeString()}</td>
              <td>
                {r.fields.source_name || r.fields.source_ip} →{" "}
                {r.fields.dest_name || r.fields.dest_ip}:{r.fields.dest_port}/{r.fields.proto}
              </td>
              <VerdictCells fields={r.fields} />
              <td>{r.fields.policy}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function WorkloadView({ route }: { route: Route }) {
  const snap = useAsync(snapshot, []);
  const [search, setSearch] = useState("");
  const [top, setTop] = useState(0);
  const all = useMemo(() => workloadsOf(snap.value?.items ?? []), [snap.value]);
  const shown = useMemo(
    () =>
      all.filter(
        (w) =>
          w.id.includes(search) ||
          Object.entries(w.labels).some(([k, v]) => `${k}=${v}`.includes(search)),
      ),
    [all, search],
  );
  const chosen = all.find((w) => w.id === route.params.get("id"));
  const first = Math.floor(top / ROW);
  return (
    <section aria-labelledby="workloads-title" data-ready={snap.value ? "true" : "false"}>
      <h2 id="workloads-title">Workloads</h2>
      <div class="split" style={{ gridTemplateColumns: "360px minmax(0, 1fr)" }}>
        <div>
          <div class="toolbar">
            <label>
              Search (name or label)
              <input value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
            </label>
            <span class="muted">{shown.length} workloads</span>
          </div>
          <div class="list panel" onScroll={(e) => setTop(e.currentTarget.scrollTop)}>
            <div style={{ height: `${shown.length * ROW}px`, position: "relative" }}>
              {shown.slice(first, first + VISIBLE).map((w, i) => (
                <a
                  key={w.id}
                  href={href("workloads", { id: w.id })}
                  aria-current={chosen?.id === w.id ? "true" : undefined}
                  style={{
                    position: "absolute",
                    top: `${(first + i) * ROW}px`,
                    height: `${ROW}px`,
                    display: "block",
                  }}
                >
                  {w.id}
                </a>
              ))}
            </div>
          </div>
        </div>
        {chosen ? <WorkloadDetail w={chosen} /> : <p class="muted">Choose a workload.</p>}
      </div>
    </section>
  );
}
