// Hash routes: `#/view?key=value`, so every view has an address and the browser's back works.
export interface Route {
  readonly view: string;
  readonly params: URLSearchParams;
}

export const VIEWS = [
  { id: "graph", title: "Service graph" },
  { id: "alerts", title: "Alerts" },
  { id: "policies", title: "Policy board" },
  { id: "workloads", title: "Workloads" },
  { id: "matrix", title: "Matrix" },
] as const;

export function parseRoute(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#\/?/, "").split("?");
  const view = VIEWS.some((v) => v.id === path) ? path : "graph";
  return { view, params: new URLSearchParams(search) };
}

/** How views link to each other. */
export function href(view: string, params: Record<string, string> = {}): string {
  const q = new URLSearchParams(params).toString();
  return `#/${view}${q ? `?${q}` : ""}`;
}
