// The Pod schema's answer for the pods it accepts, computed without zod. A cluster dump is
// mostly pods (5,000 of 5,650 objects in the offline bench), and zod's generic walk of each
// one (thirteen object schemas, every unknown key copied through a catchall) was about 0.17 s
// of a cold `validate`'s CPU. This path only ever accepts: anything it does not recognise as
// plainly valid (a wrong type, a bad name, `__proto__` as a key, ...) answers undefined and the
// object goes to PodSchema, which alone words errors. Its output must equal PodSchema's, key
// order included; test/model/pod-fast.test.ts compares both on generated and mutated pods.
import { parseIp } from "./addresses.ts";
import type { Pod } from "./core.ts";
import { DEFAULT_NAMESPACE } from "./meta.ts";
import {
  checkDnsLabel,
  checkDnsSubdomain,
  checkLabelValue,
  checkQualifiedName,
  isPortName,
} from "./names.ts";

type Plain = Record<string, unknown>;

/** Thrown (and caught in `fastPod`) where the input leaves what this path knows. */
const LEAVE = Symbol("leave the fast path");

function leave(): never {
  throw LEAVE;
}

function object(value: unknown): Plain {
  if (typeof value !== "object" || value === null || Array.isArray(value)) leave();
  if (Object.getPrototypeOf(value) !== Object.prototype || Object.hasOwn(value, "__proto__"))
    leave();
  return value as Plain;
}

function array(value: unknown): unknown[] {
  if (!Array.isArray(value)) leave();
  return value;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isFiniteNumber = (v: unknown) => typeof v === "number" && Number.isFinite(v);
const isBoolean = (v: unknown) => typeof v === "boolean";
const isPortNumber = (v: unknown) =>
  Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
const isIp = (v: unknown) => typeof v === "string" && parseIp(v) !== undefined;

/** One field of a loose object's shape: how its value is checked and made, absent included. */
interface Field {
  readonly key: string;
  /** The output value; leaves the fast path when the input value is not plainly valid. */
  readonly make: (value: unknown) => unknown;
  /** `.optional()`: absent stays absent. Otherwise absent is `absent()` (a default), or leaves. */
  readonly optional?: boolean;
  readonly absent?: () => unknown;
}

const checked =
  (test: (v: unknown) => boolean) =>
  (value: unknown): unknown =>
    test(value) ? value : leave();

const optional = (key: string, test: (v: unknown) => boolean): Field => ({
  key,
  make: checked(test),
  optional: true,
});

/** A loose object as zod builds it: the shape's keys in shape order, then the others as given. */
function loose(shape: readonly Field[]): (value: unknown) => Plain {
  const known = new Set(shape.map((f) => f.key));
  return (value) => {
    const input = object(value);
    const out: Plain = {};
    for (const field of shape) {
      if (field.key in input) {
        const v = input[field.key];
        out[field.key] = v === undefined ? leave() : field.make(v);
      } else if (field.absent) out[field.key] = field.absent();
      else if (!field.optional) leave();
    }
    for (const key in input) if (!known.has(key)) out[key] = input[key];
    return out;
  };
}

/** `z.array(item)`: a new array of the items' outputs. */
const arrayOf =
  (item: (value: unknown) => unknown) =>
  (value: unknown): unknown[] =>
    array(value).map(item);

/** `z.record(z.string(), z.string())` with a check of each key and value: a new object. */
function stringMap(problem: (key: string, value: string) => string | undefined) {
  return (value: unknown): Plain => {
    const input = object(value);
    const out: Plain = {};
    for (const key of Object.keys(input)) {
      const v = input[key];
      if (!isString(v) || problem(key, v) !== undefined) leave();
      out[key] = v;
    }
    return out;
  };
}

const ownerReference = loose([
  optional("apiVersion", isString),
  { key: "kind", make: checked(isString) },
  { key: "name", make: checked(isString) },
  optional("controller", isBoolean),
]);

const metadata = loose([
  { key: "name", make: checked((v) => isString(v) && checkDnsSubdomain(v) === undefined) },
  {
    key: "namespace",
    make: checked((v) => isString(v) && checkDnsLabel(v) === undefined),
    absent: () => DEFAULT_NAMESPACE,
  },
  {
    key: "labels",
    make: stringMap((k, v) => checkQualifiedName(k) ?? checkLabelValue(v)),
    optional: true,
  },
  {
    key: "annotations",
    make: stringMap((k) => checkQualifiedName(k.toLowerCase())),
    optional: true,
  },
  optional("generateName", isString),
  optional("uid", isString),
  optional("resourceVersion", isString),
  optional("generation", isFiniteNumber),
  optional("creationTimestamp", isString),
  optional("deletionTimestamp", isString),
  optional("deletionGracePeriodSeconds", isFiniteNumber),
  optional("selfLink", isString),
  { key: "ownerReferences", make: arrayOf(ownerReference), optional: true },
  { key: "finalizers", make: arrayOf(checked(isString)), optional: true },
  { key: "managedFields", make: arrayOf((v) => v), optional: true },
]);

const PROTOCOLS = new Set(["TCP", "UDP", "SCTP"]);
const PHASES = new Set(["Pending", "Running", "Succeeded", "Failed", "Unknown"]);

const containerPort = loose([
  optional("name", (v) => isString(v) && isPortName(v)),
  { key: "containerPort", make: checked(isPortNumber) },
  { key: "protocol", make: checked((v) => PROTOCOLS.has(v as string)), absent: () => "TCP" },
  optional("hostPort", isPortNumber),
  optional("hostIP", isIp),
]);

const container = loose([
  optional("name", isString),
  { key: "ports", make: arrayOf(containerPort), optional: true },
]);

const spec = loose([
  optional("nodeName", isString),
  optional("serviceAccountName", isString),
  optional("hostNetwork", isBoolean),
  { key: "containers", make: arrayOf(container), absent: () => [] },
]);

const podIp = loose([{ key: "ip", make: checked(isIp) }]);

const status = loose([
  optional("phase", (v) => PHASES.has(v as string)),
  optional("podIP", isIp),
  { key: "podIPs", make: arrayOf(podIp), optional: true },
  optional("hostIP", isIp),
  { key: "hostIPs", make: arrayOf(podIp), optional: true },
]);

const pod = loose([
  { key: "apiVersion", make: checked((v) => v === "v1") },
  { key: "kind", make: checked((v) => v === "Pod") },
  { key: "metadata", make: metadata },
  { key: "spec", make: spec, absent: () => spec({}) },
  { key: "status", make: status, optional: true },
]);

/** PodSchema's output for a pod it plainly accepts (nulls already removed), else undefined. */
export function fastPod(input: unknown): Pod | undefined {
  try {
    return pod(input) as Pod;
  } catch (error) {
    if (error === LEAVE) return undefined;
    throw error;
  }
}
