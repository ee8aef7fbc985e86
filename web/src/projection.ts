// A projection as the flows API takes it (`fields=`), apart from the fetch code so the bench
// and the tests can ask what the UI asks.
import type { FlowProjection } from "../../src/flows/projection.ts";

/** The `fields=` value of a projection: the members of records a view reads. */
export function projectionParam(p: FlowProjection): string {
  return [...p.keys, ...p.fields.map((f) => `fields.${f}`)].join(",");
}
