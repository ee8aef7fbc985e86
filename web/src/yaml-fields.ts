// From a server's field path (`spec.ingress[0].ports[0].port`, as 422 causes name it) to the
// line of the YAML text that holds it, so the editor shows the error at the field.
import { isNode, parseDocument } from "yaml";

/** `a.b[0].c` -> ["a", "b", 0, "c"]. */
export function fieldSegments(field: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[1] !== undefined) out.push(m[1]);
  }
  return out;
}

/** The 1-based line of the deepest node of `field` present in `text`, or undefined. */
export function lineOfField(text: string, field: string): number | undefined {
  const doc = parseDocument(text);
  const path = fieldSegments(field);
  for (let n = path.length; n > 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) {
      return text.slice(0, node.range[0]).split("\n").length;
    }
  }
  return undefined;
}
