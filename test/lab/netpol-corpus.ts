// The Kubernetes NetworkPolicy corpus as lab steps: each step's complete manifest set and the
// cells to probe with their expected outcome. The corpus numbers pods 10.0.<ns>.<pod>; the lab
// only uses its own ranges, so every address and ipBlock moves to 198.18.<ns>.<pod>, which
// keeps each one's place relative to the others (a /24 still holds the same pods, a /32 the
// same pod, an except the same hole).

import { basename } from "node:path";
import { stringify } from "yaml";
import { parseManifests, type Resource } from "../../src/model/index.ts";
import { parseCidr } from "../../src/net/cidr.ts";
import {
  type CorpusCluster,
  type Resource as CorpusResource,
  clusterResources,
} from "../corpus/corpus.ts";
import { type NetpolProbe, netpolCaseSteps, netpolCorpusFiles } from "../corpus/k8s-netpol.ts";

export interface Cell {
  from: string;
  to: string;
  port: number;
  protocol: "TCP" | "UDP" | "SCTP";
  expected: boolean;
}

export interface LabStep {
  /** `<file> step <n>`. */
  name: string;
  resources: Resource[];
  cells: Cell[];
}

/** 10.0.a.b -> 198.18.a.b. */
export function labAddress(ip: string): string {
  const m = /^10\.0\.(\d+)\.(\d+)$/.exec(ip);
  if (!m) throw new Error(`corpus address ${ip} is outside 10.0.0.0/16`);
  return `198.18.${m[1]}.${m[2]}`;
}

/**
 * A /16 or longer inside 10.0.0.0/16 keeps its low bits; a shorter one must cover 10.0.0.0/16
 * and becomes the block of that length around 198.18.0.0 (0.0.0.0/4 -> 192.0.0.0/4).
 */
export function labCidr(text: string): string {
  const cidr = parseCidr(text);
  if (cidr.prefix >= 16) return `${labAddress(cidr.text.split("/")[0]!)}/${cidr.prefix}`;
  if (parseCidr(`10.0.0.0/${cidr.prefix}`).text !== cidr.text)
    throw new Error(`corpus block ${text} does not cover 10.0.0.0/16`);
  return parseCidr(`198.18.0.0/${cidr.prefix}`).text;
}

interface IpBlock {
  cidr: string;
  except?: string[];
}

function moveIpBlocks(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(moveIpBlocks);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "ipBlock") {
      const block = v as IpBlock;
      out[k] = {
        cidr: labCidr(block.cidr),
        ...(block.except ? { except: block.except.map(labCidr) } : {}),
      };
    } else out[k] = moveIpBlocks(v);
  }
  return out;
}

function labResources(cluster: CorpusCluster, policies: CorpusResource[]): Resource[] {
  const moved: CorpusCluster = {
    ...cluster,
    pods: cluster.pods.map((p) => ({ ...p, ip: labAddress(p.ip) })),
  };
  const docs = [...clusterResources(moved), ...policies.map(moveIpBlocks)];
  const result = parseManifests(docs.map((d) => stringify(d)).join("---\n"), "corpus");
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.resources;
}

function probeCells(probes: NetpolProbe[]): Cell[] {
  return probes.flatMap((probe) =>
    Object.entries(probe.expected).flatMap(([from, row]) =>
      Object.entries(row)
        // upstream ignores loopback, and a pod's own traffic never leaves its netns
        .filter(([to]) => to !== from)
        .map(([to, expected]) => ({
          from,
          to,
          port: probe.port,
          protocol: probe.protocol as Cell["protocol"],
          expected,
        })),
    ),
  );
}

/** Every step of every corpus file, truth-table files first (they share their 9 pods). */
export function netpolSteps(): LabStep[] {
  const files = netpolCorpusFiles().sort((a, b) => {
    const legacy = (f: string) => (basename(f).startsWith("legacy-") ? 1 : 0);
    return legacy(a) - legacy(b) || (a < b ? -1 : 1);
  });
  return files.flatMap((file) =>
    netpolCaseSteps(file).map((step, i) => ({
      name: `${basename(file, ".yaml")} step ${i + 1}`,
      resources: labResources(step.cluster, step.policies),
      cells: [
        ...probeCells(step.probes),
        ...step.checks.map((k) => ({ ...k, protocol: k.protocol as Cell["protocol"] })),
      ],
    })),
  );
}
