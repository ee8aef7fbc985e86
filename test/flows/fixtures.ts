// Resources and packet records the flows tests share: a shop namespace with pods, PacketLogs
// as ulogd2 would report them for a given NFLOG prefix, and alerts for the sinks.
import { formatLogPrefix, type LogPrefix } from "../../src/dataplane/nftables/log-prefix.ts";
import { type Alert, type PacketLog, parseUlogdLine } from "../../src/flows/index.ts";
import { type Resource, validResource } from "../../src/model/index.ts";

export const ns = (name: string): Resource =>
  validResource({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name },
  });

export function pod(
  namespace: string,
  name: string,
  ip: string,
  labels: Record<string, string>,
  ports: Array<{ name: string; containerPort: number }> = [],
): Resource {
  return validResource({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels },
    spec: {
      nodeName: "node-1",
      serviceAccountName: `sa-${name}`,
      containers: [{ name: "c", ports: ports.map((p) => ({ ...p, protocol: "TCP" })) }],
    },
    status: { podIP: ip, podIPs: [{ ip }] },
  });
}

export const upsert = (resource: Resource) => ({ type: "upsert" as const, resource });

export interface PacketSpec {
  readonly time: number;
  readonly prefix: LogPrefix | string;
  readonly src: string;
  readonly dst: string;
  readonly dport?: number;
  readonly sport?: number;
  readonly proto?: number;
  readonly syn?: boolean;
  readonly bytes?: number;
  readonly group?: number;
}

/** A ulogd2 JSON line, as the JSON output plugin writes it. */
export function ulogdLine(s: PacketSpec): string {
  const proto = s.proto ?? 6;
  return JSON.stringify({
    timestamp: "2026-01-01T00:00:00.000000",
    dvc: "Netfilter",
    "raw.pktlen": s.bytes ?? 60,
    "raw.pktcount": 1,
    "oob.prefix": typeof s.prefix === "string" ? s.prefix : formatLogPrefix(s.prefix),
    "oob.time.sec": Math.floor(s.time / 1000),
    "oob.time.usec": (s.time % 1000) * 1000,
    "oob.family": s.src.includes(":") ? 10 : 2,
    "raw.label": s.group ?? 1,
    ...(s.src.includes(":") ? { "ip6.nexthdr": proto } : { "ip.protocol": proto }),
    src_ip: s.src,
    dest_ip: s.dst,
    src_port: s.sport ?? 40000,
    dest_port: s.dport ?? 80,
    ...(proto === 6
      ? { "tcp.syn": s.syn === false ? 0 : 1, "tcp.ack": s.syn === false ? 1 : 0 }
      : {}),
    "oob.in": "wl0",
    "oob.out": "wl1",
  });
}

export const packet = (s: PacketSpec): PacketLog => parseUlogdLine(ulogdLine(s));

/** Alert number `i` of a blue LDAP violation (summary `attempt i`), with `fields` changed. */
export const ldapAlert = (i: number, fields: Partial<Alert> = {}): Alert => ({
  time: new Date(1_800_000_000_000 + i).toISOString(),
  alert: "blue-ldap-violation",
  severity: 80,
  summary: `attempt ${i}`,
  description: `attempt ${i}`,
  source: "blue/other",
  destination: "blue/server",
  port: "389",
  protocol: "tcp",
  policy: "blue-ldap",
  action: "deny",
  reason: "denied by tier security, policy blue-ldap, rule 2 (ingress)",
  count: 1,
  fields: {},
  ...fields,
});

/** What every alert's JSON (the stdout sink, `microseg alerts -o json`) carries at least. */
export const ALERT_JSON_FIELDS = [
  "time",
  "severity",
  "alert",
  "source",
  "destination",
  "port",
  "protocol",
  "policy",
  "count",
] as const;
