// The YAML 1.2 core schema's numbers for js-yaml, as the spec (10.3.2) and the `yaml` library
// read them. js-yaml 4's own int and float also take YAML 1.1 spellings (`0b101`, `+0x1F`,
// `-0o7`) and miss signed fractions without a leading digit (`-.5`), so the fast reader and the
// `yaml` library, which reads every text the fast one refuses, would give one manifest two
// meanings.
import { CORE_SCHEMA, type Schema, Type } from "js-yaml";

/**
 * Every number starts with a digit, a sign or a dot; most scalars of a manifest are words, so
 * they are turned away before any pattern runs (js-yaml asks every type about every scalar).
 */
function mayBeNumber(text: string): boolean {
  const c = text.charCodeAt(0);
  return (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46; // 0-9 + - .
}

const DECIMAL = /^[-+]?[0-9]+$/;
const OCTAL = /^0o[0-7]+$/;
const HEX = /^0x[0-9a-fA-F]+$/;

const int = new Type("tag:yaml.org,2002:int", {
  kind: "scalar",
  resolve: (text: string) =>
    mayBeNumber(text) && (DECIMAL.test(text) || OCTAL.test(text) || HEX.test(text)),
  construct: (text: string) =>
    OCTAL.test(text) ? Number.parseInt(text.slice(2), 8) : Number(text),
  predicate: (value: object) => Number.isInteger(value),
});

const NUMBER = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const INFINITY = /^[-+]?\.(?:inf|Inf|INF)$/;
const NAN = /^\.(?:nan|NaN|NAN)$/;

const float = new Type("tag:yaml.org,2002:float", {
  kind: "scalar",
  resolve: (text: string) =>
    mayBeNumber(text) && (NUMBER.test(text) || INFINITY.test(text) || NAN.test(text)),
  construct: (text: string) => {
    if (NAN.test(text)) return Number.NaN;
    if (INFINITY.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
    return Number(text);
  },
  predicate: (value: object) => typeof value === "number",
});

/** js-yaml's core schema (null, bool, str, seq, map) with the spec's int and float. */
export const YAML_CORE_SCHEMA = CORE_SCHEMA.extend({ implicit: [int, float] });

/**
 * The types a plain scalar is resolved by, in order: the very list js-yaml compiles for this
 * schema and asks (null, bool, then the int and float above), which the fast reader
 * (yaml-fast.ts) asks too. Not in js-yaml's typings, so read as the loader reads it.
 */
export const YAML_IMPLICIT_TYPES = (
  YAML_CORE_SCHEMA as Schema & { readonly compiledImplicit: readonly Type[] }
).compiledImplicit;
