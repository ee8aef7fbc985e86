// metadata for every kind. The fields Kubernetes itself fills in (uid, managedFields, ...) are
// known, so dumps of live objects validate even where unknown fields are errors.
import { z } from "zod";
import { AnnotationMapSchema, LabelMapSchema, scalar } from "./fields.ts";
import { checkDnsLabel } from "./names.ts";

/** Returns the problem with a name, or undefined. Each kind picks its rule (see registry.ts). */
export type NameRule = (name: string) => string | undefined;

export const DEFAULT_NAMESPACE = "default";

function nameSchema(rule: NameRule) {
  return z.string().superRefine((name, ctx) => {
    const problem = rule(name);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

const NamespaceNameSchema = z.string().superRefine((name, ctx) => {
  const problem = checkDnsLabel(name);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

// Bookkeeping the API server writes; accepted so `kubectl get -o yaml` output loads, never used.
const serverFields = {
  generateName: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  deletionGracePeriodSeconds: z.number().optional(),
  selfLink: z.string().optional(),
  // Read to tell which pods a controller in the same set already stands for.
  ownerReferences: z
    .array(
      z.looseObject({
        apiVersion: z.string().optional(),
        kind: z.string(),
        name: z.string(),
        controller: z.boolean().optional(),
      }),
    )
    .optional(),
  finalizers: z.array(z.string()).optional(),
  managedFields: z.array(z.unknown()).optional(),
};

function namespacedShape(rule: NameRule) {
  return {
    name: nameSchema(rule),
    namespace: NamespaceNameSchema.default(DEFAULT_NAMESPACE),
    labels: LabelMapSchema.optional(),
    annotations: AnnotationMapSchema.optional(),
    ...serverFields,
  };
}

function clusterShape(rule: NameRule, kind: string) {
  return {
    name: nameSchema(rule),
    namespace: scalar<undefined>(
      (v) => v === undefined,
      `must not be set: ${kind} is cluster-scoped`,
    ).optional(),
    labels: LabelMapSchema.optional(),
    annotations: AnnotationMapSchema.optional(),
    ...serverFields,
  };
}

export function namespacedMeta(rule: NameRule) {
  return z.strictObject(namespacedShape(rule));
}

export function clusterMeta(rule: NameRule, kind: string) {
  return z.strictObject(clusterShape(rule, kind));
}

/** For Pod and Namespace, whose dumps may carry fields newer than this code. */
export function looseNamespacedMeta(rule: NameRule) {
  return z.looseObject(namespacedShape(rule));
}

export function looseClusterMeta(rule: NameRule, kind: string) {
  return z.looseObject(clusterShape(rule, kind));
}
