// Workload controllers (apps/v1 Deployment, ReplicaSet, StatefulSet, DaemonSet; batch/v1 Job,
// CronJob). Offline, each pod template is a workload of its own, so a repository of
// Deployments can be checked before anything runs. Loose, like Pod: only the template's labels
// and pod spec are read.
import { z } from "zod";
import { APPS_V1, BATCH_V1 } from "./api-versions.ts";
import { PodSpecSchema } from "./core.ts";
import { LabelMapSchema } from "./fields.ts";
import { looseNamespacedMeta } from "./meta.ts";
import { checkDnsSubdomain } from "./names.ts";

const PodTemplateSchema = z.looseObject({
  metadata: z.looseObject({ labels: LabelMapSchema.optional() }).prefault({}),
  spec: PodSpecSchema.prefault({}),
});

export type PodTemplate = z.infer<typeof PodTemplateSchema>;

function controller<A extends string, K extends string>(apiVersion: A, kind: K) {
  return z.looseObject({
    apiVersion: z.literal(apiVersion),
    kind: z.literal(kind),
    metadata: looseNamespacedMeta(checkDnsSubdomain),
    spec: z.looseObject({ template: PodTemplateSchema }),
    status: z.unknown().optional(),
  });
}

export const DeploymentSchema = controller(APPS_V1, "Deployment");
export const ReplicaSetSchema = controller(APPS_V1, "ReplicaSet");
export const StatefulSetSchema = controller(APPS_V1, "StatefulSet");
export const DaemonSetSchema = controller(APPS_V1, "DaemonSet");
export const JobSchema = controller(BATCH_V1, "Job");

export const CronJobSchema = z.looseObject({
  apiVersion: z.literal(BATCH_V1),
  kind: z.literal("CronJob"),
  metadata: looseNamespacedMeta(checkDnsSubdomain),
  spec: z.looseObject({
    jobTemplate: z.looseObject({ spec: z.looseObject({ template: PodTemplateSchema }) }),
  }),
  status: z.unknown().optional(),
});

export type Deployment = z.infer<typeof DeploymentSchema>;
export type ReplicaSet = z.infer<typeof ReplicaSetSchema>;
export type StatefulSet = z.infer<typeof StatefulSetSchema>;
export type DaemonSet = z.infer<typeof DaemonSetSchema>;
export type Job = z.infer<typeof JobSchema>;
export type CronJob = z.infer<typeof CronJobSchema>;

export type WorkloadController = Deployment | ReplicaSet | StatefulSet | DaemonSet | Job | CronJob;

export const CONTROLLER_KINDS: ReadonlySet<string> = new Set([
  "Deployment",
  "ReplicaSet",
  "StatefulSet",
  "DaemonSet",
  "Job",
  "CronJob",
]);

/** The pod template a controller stamps its pods from. */
export function podTemplateOf(c: WorkloadController): PodTemplate {
  return c.kind === "CronJob" ? c.spec.jobTemplate.spec.template : c.spec.template;
}

/**
 * The controller that owns an object, as `Kind/namespace/name`, when it names one: pods are
 * owned by ReplicaSets, StatefulSets, DaemonSets and Jobs; ReplicaSets by Deployments; Jobs by
 * CronJobs.
 */
export function controllerOf(r: {
  metadata: {
    namespace?: string;
    ownerReferences?: ReadonlyArray<{ kind: string; name: string; controller?: boolean }>;
  };
}): string | undefined {
  const owner = r.metadata.ownerReferences?.find((o) => o.controller !== false);
  return owner && CONTROLLER_KINDS.has(owner.kind)
    ? `${owner.kind}/${r.metadata.namespace ?? ""}/${owner.name}`
    : undefined;
}
