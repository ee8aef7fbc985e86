// Recorded flow records for the analysis tests, as the aggregator writes them: one per
// (source, destination, port, protocol, action) with both sides' identities.
import { emptyFields } from "../../src/flows/flow-log.ts";
import type { FlowRecord } from "../../src/flows/index.ts";
import type { Resource } from "../../src/model/index.ts";
import { validResources } from "../../src/model/index.ts";

export interface Side {
  readonly ns?: string;
  readonly name?: string;
  readonly ip: string;
}

export function record(
  src: Side,
  dst: Side,
  port: number,
  proto: "tcp" | "udp",
  action: "allow" | "deny" = "allow",
  connections = 3,
  at = Date.UTC(2026, 0, 1),
): FlowRecord {
  const fields = {
    ...emptyFields(),
    action,
    reporter: "dst",
    proto,
    source_ip: src.ip,
    source_kind: src.name ? "Pod" : "net",
    source_namespace: src.ns ?? "",
    source_name: src.name ?? "",
    dest_ip: dst.ip,
    dest_port: String(port),
    dest_kind: dst.name ? "Pod" : "net",
    dest_namespace: dst.ns ?? "",
    dest_name: dst.name ?? "",
  };
  return {
    start: at,
    end: at + 15_000,
    fields,
    sourceLabels: {},
    destLabels: {},
    packets: connections * 4,
    bytes: connections * 400,
    connections,
    logs: connections,
    firstSeen: at,
    lastSeen: at + 10_000,
    reason: "",
    isolatedBy: [],
    wouldDeny: 0,
    wouldDenyBy: [],
  };
}

export function pod(
  ns: string,
  name: string,
  ip: string,
  labels: Record<string, string>,
  ports: Array<{ port: number; protocol?: string }> = [],
): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, labels },
    spec: {
      containers: [
        {
          name: "c",
          ports: ports.map((p) => ({ containerPort: p.port, protocol: p.protocol ?? "TCP" })),
        },
      ],
    },
    status: { podIPs: [{ ip }] },
  };
}

export const namespaces = (...names: string[]): Resource[] =>
  validResources(
    names.map((name) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } })),
  );
