// A flow's explanation in words: the verdict, then each direction's deciding tier, policy and
// rule, and what staged policies would decide (the explain API's answer, shown as is).
import type { Explanation } from "./api.ts";
import { explain } from "./api.ts";
import type { FlowQuery } from "./graph-model.ts";
import { useAsync } from "./use-async.ts";

export function ExplanationOf({ flow }: { flow: FlowQuery }) {
  const e = useAsync(() => explain(flow), [flow.from, flow.to, flow.port, flow.protocol]);
  if (e.error) return <p class="errors">explain: {e.error.message}</p>;
  if (!e.value) return <p class="muted">explaining…</p>;
  return <ExplanationText e={e.value} />;
}

export function ExplanationText({ e }: { e: Explanation }) {
  return (
    <div class="explanation" data-testid="explanation">
      <p>
        <strong class={e.allowed ? "state-allowed" : "state-denied"}>
          {e.allowed ? "Allowed" : "Denied"}
        </strong>{" "}
        {e.from} ({e.fromAddress}) → {e.to} ({e.toAddress}) {e.port}/{e.protocol}
      </p>
      <ul>
        <li>
          Egress at {e.egress.at}: {e.egress.reason}
        </li>
        <li>
          Ingress at {e.ingress.at}: {e.ingress.reason}
        </li>
      </ul>
      {e.staged && (
        <p class="muted">
          With staged policies: {e.staged.allowed ? "allowed" : "denied"} (egress:{" "}
          {e.staged.egress.reason}; ingress: {e.staged.ingress.reason})
        </p>
      )}
    </div>
  );
}
