// A flow record's verdict as two table cells, the same in every view that lists records: the
// action, and which side (the source's egress or the destination's ingress) reported it.
import { reportedAt } from "./graph-model.ts";

export function VerdictCells({ fields }: { fields: { action: string; reporter: string } }) {
  return (
    <>
      <td class={fields.action === "deny" ? "state-denied" : "state-allowed"}>{fields.action}</td>
      <td title="the source's egress or the destination's ingress reported it">
        {reportedAt(fields.reporter)}
      </td>
    </>
  );
}
