// The state of one table as data (what the reader reads and MemoryNftables holds), and its canonical
// text: two models that mean the same ruleset dump to the same string.

import type { Atom, BaseChain, Element, Family, SetFlag, SetKeyType, Stmt } from "./ast.ts";
import { canonicalBody, canonicalKey, canonicalPart } from "./canonical.ts";
import {
  commentSuffix,
  type RenderOptions,
  renderAtom,
  renderBody,
  renderPart,
  renderVerdict,
} from "./syntax.ts";

export interface RuleModel {
  body: Stmt[];
  comment?: string;
  handle?: number;
}

export interface ChainModel {
  name: string;
  base?: BaseChain;
  /** Not in nft 1.0.6's JSON output, so never set on a model read from the kernel. */
  comment?: string;
  rules: RuleModel[];
  handle?: number;
}

export type ElementModel = Element;

export interface SetModel {
  kind: "set" | "map";
  name: string;
  type: SetKeyType[];
  /** Maps only. */
  value?: "verdict" | SetKeyType;
  flags: SetFlag[];
  comment?: string;
  elements: ElementModel[];
  handle?: number;
}

export interface TableModel {
  family: Family;
  name: string;
  chains: ChainModel[];
  /** Sets and maps, which share one namespace in nft. */
  sets: SetModel[];
}

const byName = <T extends { name: string }>(a: T, b: T) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

function elementText(set: SetModel, el: ElementModel): string {
  const key =
    canonicalKey(el.key, set.type)
      .map((p) => renderPart(p))
      .join(" . ") + commentSuffix(el.comment);
  if (el.value === undefined) return key;
  const value =
    typeof el.value === "object"
      ? renderVerdict(el.value)
      : renderAtom(
          set.value === undefined || set.value === "verdict"
            ? el.value
            : (canonicalPart(el.value, set.value) as Atom),
        );
  return `${key} : ${value}`;
}

function setSpec(set: SetModel): string {
  const value = set.kind === "map" ? ` : ${set.value}` : "";
  const flags = set.flags.length ? ` flags ${[...set.flags].sort().join(",")};` : "";
  const comment = set.comment === undefined ? "" : ` comment "${set.comment}";`;
  return `{ type ${set.type.join(" . ")}${value};${flags}${comment} }`;
}

function chainSpec(chain: ChainModel): string {
  if (!chain.base) return "";
  const b = chain.base;
  return ` { type ${b.type} hook ${b.hook} priority ${b.priority}; policy ${b.policy ?? "accept"}; }`;
}

/**
 * The table as an nft script in a canonical order: chains, sets and maps by name, each set's
 * elements sorted, rules in chain order. Handles are left out, and counter values unless asked
 * for, so desired and live state compare equal when they mean the same. Table and chain comments
 * are left out too: nft 1.0.6 does not report them, so they cannot be compared.
 */
export function dumpSorted(model: TableModel, opts: RenderOptions = {}): string {
  const head = `${model.family} ${model.name}`;
  const lines = [`add table ${head}`];
  const chains = [...model.chains].sort(byName);
  for (const c of chains) lines.push(`add chain ${head} ${c.name}${chainSpec(c)}`);
  const sets = [...model.sets].sort(byName);
  for (const s of sets) lines.push(`add ${s.kind} ${head} ${s.name} ${setSpec(s)}`);
  for (const s of sets) {
    const texts = s.elements.map((e) => elementText(s, e)).sort();
    for (const t of texts) lines.push(`add element ${head} ${s.name} { ${t} }`);
  }
  for (const c of chains) {
    for (const r of c.rules) {
      const body = renderBody(canonicalBody(r.body), opts);
      lines.push(`add rule ${head} ${c.name} ${body}${commentSuffix(r.comment)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
