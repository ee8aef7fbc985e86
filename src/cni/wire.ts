// What the CNI plugin and the node's agent say to each other over the agent's unix socket:
// one JSON request line, one JSON answer line, then the agent closes the connection. Types
// only (the plugin is exec'd per pod and imports nothing it does not need); the agent checks
// requests against its own schema (src/agent/cni-server.ts).

export const DEFAULT_CNI_SOCKET = "/run/microseg/cni.sock";

/** The pod a sandbox belongs to, from CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME). */
export interface PodRef {
  readonly namespace: string;
  readonly name: string;
}

/** A new sandbox's network, from the runtime's environment and the previous plugin's result. */
export interface Attachment {
  readonly containerId: string;
  readonly pod: PodRef;
  /** CNI_NETNS: the sandbox's network namespace path. */
  readonly netns: string;
  /** CNI_IFNAME: the interface inside the sandbox. */
  readonly ifname: string;
  /** The host side of the pod's link: a bridge port (veth) or a routed veth. */
  readonly hostInterface: string;
  /** The bridge `hostInterface` is a port of, when it is one. */
  readonly bridge?: string;
  /** The sandbox interface's MAC, lower case (needed on a bridge: frames are checked by it). */
  readonly mac?: string;
  /** The pod's addresses, without prefix length. */
  readonly addresses: readonly string[];
}

export type CniRequest =
  | { readonly op: "add"; readonly attachment: Attachment; readonly timeoutMs: number }
  | {
      readonly op: "del";
      readonly containerId: string;
      readonly pod?: PodRef;
      readonly timeoutMs: number;
    }
  | {
      readonly op: "check";
      readonly containerId: string;
      readonly pod: PodRef;
      readonly timeoutMs: number;
    };

export type CniAnswer =
  | { readonly ok: true; readonly revision: number; readonly enforcedMs?: number }
  | { readonly ok: false; readonly code: number; readonly msg: string; readonly details?: string };

/** CNI spec error codes, and the plugin's own from 100. */
export const CNI_ERRORS = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  io: 5,
  decode: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  /** The agent did not confirm enforcement within the configured timeout. */
  notConfirmed: 100,
  /** The agent refused the workload (unknown pod, wrong node, failed transaction). */
  refused: 101,
} as const;
