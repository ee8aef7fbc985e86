// Objects printed as kubectl prints them: `-o json` indented by four spaces, `-o yaml` without
// anchors or aliases (every repeated value written out), several objects as a `List`.
import { stringify } from "yaml";
import type { Resource } from "../model/index.ts";

export type ObjectFormat = "json" | "yaml";

export function asList(items: readonly Resource[]): Record<string, unknown> {
  return { apiVersion: "v1", items, kind: "List", metadata: { resourceVersion: "" } };
}

export function formatObject(value: unknown, format: ObjectFormat): string {
  return format === "json"
    ? `${JSON.stringify(value, null, 4)}\n`
    : stringify(value, { aliasDuplicateObjects: false, lineWidth: 0 });
}
