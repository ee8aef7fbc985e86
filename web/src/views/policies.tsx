// The policy board: tiers as columns in evaluation order, policies in order within each, with
// the endpoints they select and their hit counts (the server's flow metrics); a staged policy
// sits beside its enforced twin with its would-deny count. A policy opens in the YAML editor.
import { useMemo, useState } from "preact/hooks";
import { type ApiObject, type Description, describe, metricsText, snapshot } from "../api.ts";
import { PolicyEditor } from "../policy-editor.tsx";
import type { Route } from "../route.ts";
import { useAsync } from "../use-async.ts";

type PolicyDescription = Extract<Description, { type: "policy" }>;

interface Card {
  readonly object: ApiObject;
  readonly d: PolicyDescription;
  readonly key: string;
  readonly staged: boolean;
  twin?: Card;
}

/** The built-in tiers' orders (Calico's); user tiers carry theirs in spec.order. */
const BUILT_IN_TIERS: Record<string, number> = {
  adminnetworkpolicy: 1_000,
  default: 1_000_000,
  baselineadminnetworkpolicy: 10_000_000,
};

const isPolicy = (o: ApiObject) => /Policy$/.test(o.kind);
const isStaged = (o: ApiObject) => o.kind.startsWith("Staged");

/** The name flow records and metrics carry: `ns/name`, or the global name without its tier. */
function recordName(ns: string | undefined, name: string, tier: string): string {
  if (ns) return `${ns}/${name}`;
  return name.startsWith(`${tier}.`) ? name.slice(tier.length + 1) : name;
}

export interface Hits {
  allow: number;
  deny: number;
}

/** Connections per deciding policy and action, from `microseg_flow_connections_total`. */
export function hitsFromMetrics(text: string): Map<string, Hits> {
  const out = new Map<string, Hits>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("microseg_flow_connections_total{")) continue;
    const policy = /policy="([^"]*)"/.exec(line)?.[1];
    const action = /action="([^"]*)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (!policy) continue;
    const h = out.get(policy) ?? { allow: 0, deny: 0 };
    if (action === "deny") h.deny += value;
    else if (action === "allow") h.allow += value;
    out.set(policy, h);
  }
  return out;
}

async function loadBoard() {
  const [snap, metrics] = await Promise.all([snapshot(), metricsText().catch(() => "")]);
  const policies = snap.items.filter(isPolicy);
  const described = await Promise.all(
    policies.map((o) =>
      describe({
        apiVersion: o.apiVersion,
        kind: o.kind,
        name: o.metadata.name,
        ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
      }),
    ),
  );
  const tierOrders = new Map(Object.entries(BUILT_IN_TIERS));
  for (const o of snap.items) {
    if (o.kind === "Tier")
      tierOrders.set(o.metadata.name, Number((o.spec as { order?: number }).order ?? 1_000_000));
  }
  const cards: Card[] = [];
  policies.forEach((object, i) => {
    const d = described[i];
    if (d?.type !== "policy") return;
    const tier = d.policy?.tier ?? "default";
    cards.push({
      object,
      d,
      key: recordName(object.metadata.namespace, object.metadata.name, tier),
      staged: isStaged(object),
    });
  });
  return { cards, tierOrders, hits: hitsFromMetrics(metrics) };
}

function tierOf(c: Card): string {
  return c.d.policy?.tier ?? c.twin?.d.policy?.tier ?? "default";
}

function PolicyCard({
  card,
  hits,
  onOpen,
  focused,
}: {
  card: Card;
  hits: Map<string, Hits>;
  onOpen: (c: Card) => void;
  focused: boolean;
}) {
  const h = hits.get(card.key);
  const wouldDeny = (card.object.status as { wouldDeny?: { flowLogs?: number } } | undefined)
    ?.wouldDeny?.flowLogs;
  const ns = card.object.metadata.namespace;
  return (
    <article
      class={`card${card.staged ? " staged" : ""}`}
      data-policy={card.key}
      data-kind={card.object.kind}
      aria-current={focused ? "true" : undefined}
    >
      <button type="button" class="link" onClick={() => onOpen(card)}>
        <strong>{card.object.metadata.name}</strong>
      </button>
      <div class="meta">
        {card.object.kind}
        {ns ? ` · ${ns}` : ""}
        {card.d.policy?.order !== undefined ? ` · order ${card.d.policy.order}` : ""}
        {card.d.stages ? ` · stages ${card.d.stages.action}` : ""}
      </div>
      {card.d.policy && (
        <div class="meta">
          selects <code>{card.d.policy.selector}</code> ({card.d.selects.length} endpoints)
        </div>
      )}
      <div class="meta" data-testid="hits">
        {card.staged
          ? `would deny: ${wouldDeny ?? 0}`
          : `allowed ${h?.allow ?? 0} · denied ${h?.deny ?? 0}`}
      </div>
    </article>
  );
}

export function PolicyBoard({ route }: { route: Route }) {
  const [reload, setReload] = useState(0);
  const board = useAsync(loadBoard, [reload]);
  const [open, setOpen] = useState<ApiObject | undefined>();
  const focus = route.params.get("policy") ?? "";
  const columns = useMemo(() => {
    const v = board.value;
    if (!v) return [];
    const byTarget = new Map<string, Card>();
    for (const c of v.cards)
      if (!c.staged)
        byTarget.set(`${c.object.kind}|${c.d.object.namespace ?? ""}|${c.object.metadata.name}`, c);
    const shown: Card[] = [];
    for (const c of v.cards) {
      const t = c.d.stages?.target;
      const twin =
        t &&
        [...byTarget.values()].find(
          (e) =>
            e.d.policy?.kind === t.kind &&
            e.object.metadata.name === t.name &&
            (e.object.metadata.namespace ?? "") === (t.namespace ?? ""),
        );
      if (c.staged && twin) twin.twin = c;
      else shown.push(c);
    }
    const tiers = new Map<string, Card[]>();
    for (const c of shown) tiers.set(tierOf(c), [...(tiers.get(tierOf(c)) ?? []), c]);
    const order = (t: string) => v.tierOrders.get(t) ?? Number.MAX_SAFE_INTEGER;
    return [...tiers.entries()]
      .sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b))
      .map(([tier, cards]) => ({
        tier,
        cards: cards.sort(
          (a, b) =>
            (a.d.policy?.order ?? Number.MAX_SAFE_INTEGER) -
              (b.d.policy?.order ?? Number.MAX_SAFE_INTEGER) ||
            a.object.metadata.name.localeCompare(b.object.metadata.name),
        ),
      }));
  }, [board.value]);
  const hits = board.value?.hits ?? new Map();
  const openCard = (c: Card) => setOpen(c.object);
  return (
    <section aria-labelledby="board-title" data-ready={board.value ? "true" : "false"}>
      <h2 id="board-title">Policy board</h2>
      {board.error && <p class="errors">{board.error.message}</p>}
      <div class="board">
        {columns.map((col) => (
          <div class="column" key={col.tier} data-tier={col.tier}>
            <h3>Tier {col.tier}</h3>
            {col.cards.map((c) => (
              <div key={c.key + c.object.kind} class={c.twin ? "pair" : ""}>
                <PolicyCard card={c} hits={hits} onOpen={openCard} focused={focus === c.key} />
                {c.twin && (
                  <PolicyCard
                    card={c.twin}
                    hits={hits}
                    onOpen={openCard}
                    focused={focus === c.twin.key}
                  />
                )}
              </div>
            ))}
          </div>
        ))}
      </div>
      {open && (
        <PolicyEditor
          key={`${open.kind}/${open.metadata.namespace ?? ""}/${open.metadata.name}`}
          object={open}
          onClose={() => setOpen(undefined)}
          onSaved={() => {
            setOpen(undefined);
            setReload((n) => n + 1);
          }}
        />
      )}
    </section>
  );
}
