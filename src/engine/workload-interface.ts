// How a local endpoint appears to the dataplane beyond its policy: workload or host, and the
// node-side interface a workload's packets enter on, which source validation binds its
// addresses to.
//
// Pods do not name their interface; the CNI plugin derives it from namespace and name as
// Calico's does (`cali` + the first 11 hex digits of sha1("<namespace>.<pod>"), 15 characters,
// Linux's limit), so the agent and the plugin (and the lab) agree without talking. A
// WorkloadEndpoint names its interface; a host endpoint is the node and has none here.
import { hash } from "node:crypto";
import type { Endpoint } from "../policy/types.ts";
import type { DpEndpoint } from "./types.ts";

export const DEFAULT_POD_INTERFACE_PREFIX = "cali";

export function podInterfaceName(prefix: string, namespace: string, pod: string): string {
  // One-shot: a Hash object per pod cost 2 us at cold start (100k pods).
  const digest = hash("sha1", `${namespace}.${pod}`, "hex");
  // Joined: a slice of the concatenation would keep the 45-character whole alive per pod.
  return [prefix, digest.slice(0, Math.max(0, 15 - prefix.length))].join("").slice(0, 15);
}

export type EndpointShape = Pick<
  DpEndpoint,
  "kind" | "addresses" | "interfaceName" | "allowedSourcePrefixes"
>;

export function endpointShape(ep: Endpoint, podInterfacePrefix: string): EndpointShape {
  const addresses = ep.addresses.map((a) => a.text);
  if (ep.kind === "HostEndpoint") return { kind: "host", addresses };
  const interfaceName =
    ep.interfaceName ??
    (ep.kind === "Pod" && ep.namespace !== undefined
      ? podInterfaceName(podInterfacePrefix, ep.namespace, ep.name)
      : undefined);
  const prefixes = ep.allowSpoofedSourcePrefixes?.map((c) => c.text);
  return {
    kind: "workload",
    addresses,
    ...(interfaceName ? { interfaceName } : {}),
    ...(prefixes?.length ? { allowedSourcePrefixes: prefixes } : {}),
  };
}
