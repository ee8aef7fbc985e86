// `-o wide` of the offline commands: kubectl-style tables, one row per item, with the columns
// the default output folds into sentences or grids (each direction's own verdict, the deciding
// tier, policy and rule, a finding's check id).
import type { DirectionExplanation, Explanation, Finding, MatrixCell } from "../analysis/index.ts";
import { policyLabel } from "../policy/index.ts";
import { formatTable, type Row } from "./table.ts";

const NONE = "<none>";
const verdict = (allowed: boolean) => (allowed ? "Allow" : "Deny");

/** One row per cell: FROM TO PORT VERDICT, then each direction's verdict on its own. */
export function matrixWide(cells: readonly MatrixCell[]): string {
  const rows: Row[] = [["FROM", "TO", "PORT", "VERDICT", "EGRESS", "INGRESS"]];
  for (const c of cells) {
    rows.push([
      c.from,
      c.to,
      `${c.port}/${c.protocol}`,
      verdict(c.allowed),
      verdict(c.egress),
      verdict(c.ingress),
    ]);
  }
  return formatTable(rows);
}

function directionRow(label: string, d: DirectionExplanation, address: string): Row {
  const decision = d.decision;
  const tier = decision.kind === "rule" || decision.kind === "tier-default" ? decision.tier : NONE;
  const policy = decision.kind === "rule" ? policyLabel(decision.policy) : NONE;
  const rule =
    decision.kind === "rule"
      ? `${decision.ruleIndex}${decision.ruleName ? ` (${decision.ruleName})` : ""}`
      : decision.kind === "tier-default"
        ? "tier default"
        : decision.kind;
  return [
    label,
    d.at,
    address || NONE,
    verdict(d.allowed),
    tier,
    policy,
    rule,
    d.passed.length ? d.passed.join(",") : NONE,
  ];
}

/** One row per direction (and per staged direction): where it is judged and what decides it. */
export function explainWide(e: Explanation): string {
  const rows: Row[] = [
    ["DIRECTION", "AT", "ADDRESS", "VERDICT", "TIER", "POLICY", "RULE", "PASSED"],
    directionRow("egress", e.egress, e.fromAddress),
    directionRow("ingress", e.ingress, e.toAddress),
  ];
  if (e.staged) {
    rows.push(directionRow("staged-egress", e.staged.egress, e.fromAddress));
    rows.push(directionRow("staged-ingress", e.staged.ingress, e.toAddress));
  }
  return formatTable(rows);
}

/** One row per finding, the check id in a column of its own. */
export function lintWide(findings: readonly Finding[]): string {
  if (findings.length === 0) return "no findings\n";
  const rows: Row[] = [["SEVERITY", "CHECK", "OBJECT", "PATH", "MESSAGE"]];
  for (const f of findings) rows.push([f.severity, f.check, f.object, f.path || NONE, f.message]);
  return formatTable(rows);
}
