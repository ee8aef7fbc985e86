// The sandboxes the CNI plugin reported on this node, and how each binds to its pod.
//
// Binding: a report names its pod by CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME); the pod
// object comes from the agent's source (the store), which gives labels, namespace, service
// account and node. The report gives what the store does not know yet at ADD (the kubelet
// writes status.podIPs only after the CNI chain returns) and what it cannot know: the
// addresses and the host interface. So the pod the engine sees is the store's pod with
// status.podIPs replaced by the reported addresses, and its interface is the reported one
// (`Engine.setPodInterface`): the bridge for a bridge port (the inet table sees bridged pods'
// packets entering on the bridge; the bridge table ties the port to its MAC and addresses),
// else the routed veth. A pod the store does not hold, or holds bound to another node, is not
// enforced and its ADD fails. Reports survive agent restarts in a state file.

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Attachment, PodRef } from "../cni/wire.ts";
import type { BridgePort } from "../dataplane/nftables/index.ts";
import type { ResourceEvent } from "../engine/index.ts";
import { type Pod, type Resource, resourceKey } from "../model/index.ts";

export const podName = (p: PodRef): string => `${p.namespace}/${p.name}`;

/** The interface source validation in the inet table binds the pod's addresses to. */
export const l3Interface = (a: Attachment): string => a.bridge ?? a.hostInterface;

export class CniWorkloads {
  readonly #attached = new Map<string, Attachment>();
  /** The source's latest Pod objects, by `namespace/name`, and their resource keys. */
  readonly #pods = new Map<string, Pod>();
  readonly #keys = new Map<string, string>();
  readonly #stateFile: string | undefined;

  constructor(stateFile?: string) {
    this.#stateFile = stateFile;
    if (!stateFile) return;
    let text: string;
    try {
      text = readFileSync(stateFile, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    for (const a of JSON.parse(text) as Attachment[]) this.#attached.set(podName(a.pod), a);
  }

  /** The source's events as the engine must see them: reported pods with their addresses. */
  bind(events: readonly ResourceEvent[]): ResourceEvent[] {
    return events.map((e) => {
      if (e.type === "delete") {
        const pod = this.#keys.get(e.key);
        if (pod !== undefined) {
          this.#keys.delete(e.key);
          this.#pods.delete(pod);
        }
        return e;
      }
      if (e.resource.kind !== "Pod") return e;
      const name = podName({
        namespace: e.resource.metadata.namespace ?? "",
        name: e.resource.metadata.name,
      });
      this.#pods.set(name, e.resource);
      this.#keys.set(resourceKey(e.resource), name);
      const a = this.#attached.get(name);
      return a ? { ...e, resource: withAddresses(e.resource, a) } : e;
    });
  }

  /** The store's pod, as the engine should get it now (reported addresses in). */
  pod(ref: PodRef): Pod | undefined {
    const pod = this.#pods.get(podName(ref));
    const a = this.#attached.get(podName(ref));
    return pod && a ? withAddresses(pod, a) : pod;
  }

  attached(ref: PodRef): Attachment | undefined {
    return this.#attached.get(podName(ref));
  }

  /** The attachment holding this sandbox, by container id (DEL may come without CNI_ARGS). */
  byContainer(containerId: string): Attachment | undefined {
    for (const a of this.#attached.values()) if (a.containerId === containerId) return a;
    return undefined;
  }

  all(): Attachment[] {
    return [...this.#attached.values()];
  }

  attach(a: Attachment): void {
    this.#attached.set(podName(a.pod), a);
    this.#save();
  }

  detach(a: Attachment): void {
    this.#attached.delete(podName(a.pod));
    this.#save();
  }

  bridgePorts(): BridgePort[] {
    return this.all().flatMap((a) =>
      a.bridge && a.mac ? [{ port: a.hostInterface, mac: a.mac, addresses: a.addresses }] : [],
    );
  }

  #save(): void {
    if (!this.#stateFile) return;
    const tmp = `${this.#stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.all()), { mode: 0o600 });
    renameSync(tmp, this.#stateFile);
  }
}

function withAddresses(pod: Pod, a: Attachment): Pod {
  return {
    ...pod,
    status: {
      ...pod.status,
      ...(a.addresses[0] ? { podIP: a.addresses[0] } : {}),
      podIPs: a.addresses.map((ip) => ({ ip })),
    },
  };
}

/** A pod object in the events the engine takes. */
export const podUpsert = (pod: Resource, revision: number): ResourceEvent => ({
  type: "upsert",
  resource: pod,
  revision,
});
