// Alerts, live: occurrences folded by (alert, source, destination, port), with severity, count,
// first and last seen, links to the flows and the deciding policy, and acknowledgement (stored
// on the server, so every user sees it).
import { useEffect, useMemo, useState } from "preact/hooks";
import { acknowledge, follow, type StoredAlert } from "../api.ts";
import type { Route } from "../route.ts";
import { href } from "../route.ts";

interface AlertGroup {
  readonly key: string;
  readonly alert: StoredAlert;
  readonly ids: number[];
  count: number;
  first: string;
  last: string;
  acknowledged: boolean;
}

function groupAlerts(items: readonly StoredAlert[]): AlertGroup[] {
  const groups = new Map<string, AlertGroup>();
  for (const a of items) {
    const key = [a.alert, a.source, a.destination, a.port, a.protocol].join("|");
    let g = groups.get(key);
    if (!g) {
      g = { key, alert: a, ids: [], count: 0, first: a.time, last: a.time, acknowledged: true };
      groups.set(key, g);
    }
    g.ids.push(a.id);
    g.count += a.count;
    if (a.time < g.first) g.first = a.time;
    if (a.time >= g.last) g.last = a.time;
    g.acknowledged &&= a.acknowledgedAt !== undefined;
  }
  return [...groups.values()].sort((x, y) => (x.last < y.last ? 1 : -1));
}

function severityClass(s: number): string {
  return s >= 70 ? "sev-high" : s >= 40 ? "sev-mid" : "sev-low";
}

/** The namespace part of `namespace/name`, for the link to the graph. */
const namespaceOf = (ref: string) => (ref.includes("/") ? (ref.split("/")[0] ?? "") : "");

export function AlertsView({ route }: { route: Route }) {
  const [items, setItems] = useState<Map<number, StoredAlert>>(new Map());
  const [live, setLive] = useState(false);
  const [showAcked, setShowAcked] = useState(route.params.get("acknowledged") === "true");
  const [error, setError] = useState<string>();
  useEffect(
    () =>
      follow<StoredAlert>(
        "/api/v1/alerts?since=168h",
        (a) => setItems((m) => new Map(m).set(a.id, a)),
        setLive,
      ),
    [],
  );
  const groups = useMemo(() => groupAlerts([...items.values()]), [items]);
  const shown = groups.filter((g) => showAcked || !g.acknowledged);
  const ack = async (g: AlertGroup) => {
    try {
      const done = await Promise.all(g.ids.map((id) => acknowledge(id)));
      setItems((m) => {
        const next = new Map(m);
        for (const a of done) next.set(a.id, a);
        return next;
      });
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <section aria-labelledby="alerts-title" data-ready={live ? "true" : "false"}>
      <h2 id="alerts-title">Alerts</h2>
      <div class="toolbar">
        <label class="check">
          <span>
            <input
              type="checkbox"
              checked={showAcked}
              onChange={(e) => setShowAcked(e.currentTarget.checked)}
            />{" "}
            Show acknowledged
          </span>
        </label>
        <span class="muted" data-testid="live">
          {live ? "live" : "connecting…"} · {groups.length} alerts,{" "}
          {groups.filter((g) => !g.acknowledged).length} open
        </span>
      </div>
      {error && <p class="errors">{error}</p>}
      <table data-testid="alerts">
        <thead>
          <tr>
            <th>severity</th>
            <th>alert</th>
            <th>flow</th>
            <th>count</th>
            <th>first seen</th>
            <th>last seen</th>
            <th>policy</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {shown.map((g) => (
            <tr key={g.key} class={g.acknowledged ? "acked" : ""} data-alert={g.alert.alert}>
              <td>
                <span class={`sev ${severityClass(g.alert.severity)}`}>{g.alert.severity}</span>
              </td>
              <td>
                <strong>{g.alert.alert}</strong>
                <div class="muted">{g.alert.summary}</div>
              </td>
              <td>
                <a
                  href={href("graph", {
                    namespace: namespaceOf(g.alert.destination) || namespaceOf(g.alert.source),
                  })}
                >
                  {g.alert.source} → {g.alert.destination}:{g.alert.port}/{g.alert.protocol}
                </a>
                <div class="muted">
                  {g.alert.action} · {g.alert.reason}
                </div>
              </td>
              <td data-testid="count">{g.count}</td>
              <td>{new Date(g.first).toLocaleString()}</td>
              <td>{new Date(g.last).toLocaleString()}</td>
              <td>
                {g.alert.policy ? (
                  <a href={href("policies", { policy: g.alert.policy })}>{g.alert.policy}</a>
                ) : (
                  "—"
                )}
              </td>
              <td>
                {g.acknowledged ? (
                  <span class="muted">acknowledged</span>
                ) : (
                  <button type="button" onClick={() => ack(g)}>
                    Acknowledge
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length === 0 && <p class="muted">No open alerts.</p>}
    </section>
  );
}
