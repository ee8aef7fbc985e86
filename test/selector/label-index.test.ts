// LabelIndex: the incremental match relation between endpoints and selectors, checked by hand
// on the transitions that matter and by brute force under random churn.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  andSelectors,
  compileSelector,
  equalsSelector,
  LabelIndex,
  type Labels,
  type MatchListener,
  parseSelector,
  type SelectorAst,
} from "../../src/selector/index.ts";
import { astArb, labelsArb, leafArb } from "./arbitraries.ts";

type SelectorId = string & { readonly __brand: "SelectorId" };
type EndpointId = string & { readonly __brand: "EndpointId" };
const sid = (s: string) => s as SelectorId;
const eid = (s: string) => s as EndpointId;

/** Records every callback and keeps the match set the callbacks describe. */
class Recorder implements MatchListener<SelectorId, EndpointId> {
  readonly events: string[] = [];
  readonly pairs = new Set<string>();

  onMatchStarted(s: SelectorId, e: EndpointId): void {
    const pair = `${s}|${e}`;
    assert.ok(!this.pairs.has(pair), `started twice: ${pair}`);
    this.pairs.add(pair);
    this.events.push(`+${pair}`);
  }

  onMatchStopped(s: SelectorId, e: EndpointId): void {
    const pair = `${s}|${e}`;
    assert.ok(this.pairs.delete(pair), `stopped without start: ${pair}`);
    this.events.push(`-${pair}`);
  }

  take(): string[] {
    return this.events.splice(0);
  }
}

function setup() {
  const rec = new Recorder();
  return { rec, index: new LabelIndex<SelectorId, EndpointId>(rec) };
}

const sel = parseSelector;

describe("transitions", () => {
  test("selector added before and after endpoints", () => {
    const { rec, index } = setup();
    index.upsertSelector(sid("web"), sel("app == 'web'"));
    index.upsertEndpoint(eid("p1"), { app: "web" });
    index.upsertEndpoint(eid("p2"), { app: "db" });
    index.upsertSelector(sid("db"), sel("app in {'db', 'cache'}"));
    assert.deepEqual(rec.take(), ["+web|p1", "+db|p2"]);
    assert.deepEqual([...index.endpointsMatching(sid("web"))], ["p1"]);
    assert.deepEqual([...index.selectorsMatching(eid("p2"))], ["db"]);
  });

  test("relabelling stops the old match before starting the new", () => {
    const { rec, index } = setup();
    index.upsertSelector(sid("web"), sel("app == 'web'"));
    index.upsertSelector(sid("db"), sel("app == 'db'"));
    index.upsertEndpoint(eid("p"), { app: "web" });
    rec.take();
    index.upsertEndpoint(eid("p"), { app: "db" });
    assert.deepEqual(rec.take(), ["-web|p", "+db|p"]);
  });

  test("unchanged labels and an equal selector report nothing", () => {
    const { rec, index } = setup();
    index.upsertSelector(sid("s"), sel("has(app)"));
    index.upsertEndpoint(eid("p"), { app: "web" });
    rec.take();
    index.upsertEndpoint(eid("p"), { app: "web" });
    index.upsertSelector(sid("s"), sel("has( app )"));
    assert.deepEqual(rec.take(), []);
  });

  test("replacing a selector reports only the difference", () => {
    const { rec, index } = setup();
    index.upsertEndpoint(eid("a"), { tier: "fe" });
    index.upsertEndpoint(eid("b"), { tier: "be" });
    index.upsertEndpoint(eid("c"), {});
    index.upsertSelector(sid("s"), sel("tier == 'fe' || tier == 'be'"));
    assert.deepEqual(rec.take(), ["+s|a", "+s|b"]);
    index.upsertSelector(sid("s"), sel("tier != 'fe'"));
    assert.deepEqual(rec.take(), ["-s|a", "+s|c"]);
  });

  test("removing an endpoint or a selector stops its matches", () => {
    const { rec, index } = setup();
    index.upsertSelector(sid("all"), sel("all()"));
    index.upsertSelector(sid("x"), sel("!has(x)"));
    index.upsertEndpoint(eid("p"), {});
    rec.take();
    index.removeEndpoint(eid("p"));
    assert.deepEqual(rec.take().sort(), ["-all|p", "-x|p"]);
    index.upsertEndpoint(eid("q"), {});
    rec.take();
    index.removeSelector(sid("all"));
    assert.deepEqual(rec.take(), ["-all|q"]);
    assert.equal(index.endpointsMatching(sid("all")).size, 0);
    index.removeSelector(sid("all"));
    index.removeEndpoint(eid("nope"));
    assert.deepEqual(rec.take(), []);
  });

  test("labels are copied, so later mutation by the caller changes nothing", () => {
    const { index } = setup();
    const labels: Record<string, string> = { app: "web" };
    index.upsertEndpoint(eid("p"), labels);
    labels.app = "db";
    index.upsertSelector(sid("web"), sel("app == 'web'"));
    assert.deepEqual([...index.endpointsMatching(sid("web"))], ["p"]);
  });

  test("namespace-scoped selectors and ad-hoc queries", () => {
    const { index } = setup();
    for (let i = 0; i < 50; i++) {
      index.upsertEndpoint(eid(`p${i}`), {
        app: i % 2 ? "web" : "db",
        "projectcalico.org/namespace": `ns${i % 5}`,
      });
    }
    const scoped = andSelectors(
      sel("app == 'web'"),
      equalsSelector("projectcalico.org/namespace", "ns1"),
    );
    index.upsertSelector(sid("s"), scoped);
    const expected = ["p1", "p11", "p21", "p31", "p41"];
    assert.deepEqual([...index.endpointsMatching(sid("s"))].sort(), expected);
    assert.deepEqual(index.queryEndpoints(scoped).sort(), expected);
    assert.deepEqual(index.querySelectors({ app: "web", "projectcalico.org/namespace": "ns1" }), [
      "s",
    ]);
    assert.deepEqual(
      index.querySelectors({ app: "web", "projectcalico.org/namespace": "ns2" }),
      [],
    );
  });
});

type Op =
  | { op: "upsertEndpoint"; id: EndpointId; labels: Labels }
  | { op: "removeEndpoint"; id: EndpointId }
  | { op: "upsertSelector"; id: SelectorId; ast: SelectorAst }
  | { op: "removeSelector"; id: SelectorId };

const endpointId = fc.constantFrom(...["e1", "e2", "e3", "e4", "e5", "e6"].map(eid));
const selectorId = fc.constantFrom(...["s1", "s2", "s3", "s4", "s5"].map(sid));
// Half the selectors have the realistic shape: a required label conjoined with anything.
const selectorArb = fc.oneof(
  astArb,
  fc.tuple(leafArb, astArb).map(([leaf, rest]) => andSelectors(leaf, rest)),
);
const TWIN_POOL = ["a == 'x'", "has(b)", "a in {'x', 'y'} && b != 'z'"].map(sel);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("upsertEndpoint" as const),
      id: endpointId,
      labels: labelsArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("removeEndpoint" as const), id: endpointId }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("upsertSelector" as const),
      id: selectorId,
      ast: selectorArb,
    }),
  },
  {
    // From a small pool, so several ids often share one canonical text (a twin's matches are
    // copied, not scanned) while endpoints and the twins themselves churn.
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("upsertSelector" as const),
      id: selectorId,
      ast: fc.constantFrom(...TWIN_POOL),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("removeSelector" as const), id: selectorId }),
  },
);

function apply(index: LabelIndex<SelectorId, EndpointId>, op: Op): void {
  if (op.op === "upsertEndpoint") index.upsertEndpoint(op.id, op.labels);
  else if (op.op === "removeEndpoint") index.removeEndpoint(op.id);
  else if (op.op === "upsertSelector") index.upsertSelector(op.id, op.ast);
  else index.removeSelector(op.id);
}

test("random churn: index equals a brute-force scan and callbacks replay the match set", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
      const { rec, index } = setup();
      const endpoints = new Map<EndpointId, Labels>();
      const selectors = new Map<SelectorId, SelectorAst>();
      for (const [step, op] of ops.entries()) {
        apply(index, op);
        if (op.op === "upsertEndpoint") endpoints.set(op.id, { ...op.labels });
        else if (op.op === "removeEndpoint") endpoints.delete(op.id);
        else if (op.op === "upsertSelector") selectors.set(op.id, op.ast);
        else selectors.delete(op.id);

        const expected = new Set<string>();
        for (const [s, ast] of selectors) {
          const matches = compileSelector(ast);
          for (const [e, labels] of endpoints) if (matches(labels)) expected.add(`${s}|${e}`);
        }
        const where = `after step ${step} (${JSON.stringify(op)})`;
        assert.deepEqual([...rec.pairs].sort(), [...expected].sort(), `callbacks ${where}`);
        for (const s of selectors.keys()) {
          const got = [...index.endpointsMatching(s)].map((e) => `${s}|${e}`);
          assert.deepEqual(
            got.sort(),
            [...expected].filter((p) => p.startsWith(`${s}|`)).sort(),
            `endpointsMatching(${s}) ${where}`,
          );
          const queried = index.queryEndpoints(selectors.get(s)!).map((e) => `${s}|${e}`);
          assert.deepEqual(queried.sort(), got.sort(), `queryEndpoints(${s}) ${where}`);
        }
        for (const [e, labels] of endpoints) {
          const got = [...index.selectorsMatching(e)].map((s) => `${s}|${e}`);
          assert.deepEqual(
            got.sort(),
            [...expected].filter((p) => p.endsWith(`|${e}`)).sort(),
            `selectorsMatching(${e}) ${where}`,
          );
          const queried = index.querySelectors(labels).map((s) => `${s}|${e}`);
          assert.deepEqual(queried.sort(), got.sort(), `querySelectors(${e}) ${where}`);
        }
      }
      // Value numbers and columns are counted: with nothing left, nothing is held.
      for (const e of endpoints.keys()) index.removeEndpoint(e);
      for (const s of selectors.keys()) index.removeSelector(s);
      assert.deepEqual(index.heldLabels, { values: 0, keys: 0 });
    }),
    { numRuns: 1500 },
  );
});

test("anchors picked before endpoints arrive are re-picked as the index grows", () => {
  fc.assert(
    fc.property(
      fc.array(selectorArb, { minLength: 1, maxLength: 6 }),
      fc.array(labelsArb, { minLength: 100, maxLength: 300 }),
      (asts, labelSets) => {
        const { rec, index } = setup();
        for (const [i, ast] of asts.entries()) index.upsertSelector(sid(`s${i}`), ast);
        for (const [i, labels] of labelSets.entries()) index.upsertEndpoint(eid(`e${i}`), labels);
        // Relabel the first half with the second half's labels, so re-posted anchors are used.
        for (let i = 0; i < labelSets.length / 2; i++)
          index.upsertEndpoint(eid(`e${i}`), labelSets.at(-1 - i)!);
        const current = labelSets.map((labels, i) =>
          i < labelSets.length / 2 ? labelSets.at(-1 - i)! : labels,
        );
        asts.forEach((ast, s) => {
          const matches = compileSelector(ast);
          const expected = current.flatMap((labels, e) => (matches(labels) ? [`e${e}`] : []));
          assert.deepEqual([...index.endpointsMatching(sid(`s${s}`))].sort(), expected.sort());
          const fromCallbacks = [...rec.pairs]
            .filter((p) => p.startsWith(`s${s}|`))
            .map((p) => p.split("|")[1]);
          assert.deepEqual(fromCallbacks.sort(), expected.sort());
        });
      },
    ),
    { numRuns: 200 },
  );
});

test("prototype names and __proto__ are ordinary label keys", () => {
  const { index } = setup();
  index.upsertSelector(sid("proto"), sel("__proto__ == 'x'"));
  index.upsertSelector(sid("ctor"), sel("has(constructor)"));
  index.upsertSelector(sid("noCtor"), sel("!has(constructor) && toString != 'y'"));
  index.upsertEndpoint(eid("p"), JSON.parse('{"__proto__": "x"}'));
  index.upsertEndpoint(eid("c"), { constructor: "" });
  index.upsertEndpoint(eid("n"), {});
  assert.deepEqual([...index.endpointsMatching(sid("proto"))], ["p"]);
  assert.deepEqual([...index.endpointsMatching(sid("ctor"))], ["c"]);
  assert.deepEqual([...index.endpointsMatching(sid("noCtor"))].sort(), ["n", "p"]);
  index.upsertEndpoint(eid("p"), JSON.parse('{"__proto__": "z"}'));
  assert.deepEqual([...index.endpointsMatching(sid("proto"))], []);
  assert.deepEqual(index.querySelectors(JSON.parse('{"__proto__": "x"}')).sort(), [
    "noCtor",
    "proto",
  ]);
});

test("a caller's mutable labels are copied; a frozen label set is kept as it is", () => {
  const { index } = setup();
  index.upsertSelector(sid("blue"), sel("color == 'blue'"));
  const mutable: Record<string, string> = { color: "blue" };
  index.upsertEndpoint(eid("m"), mutable);
  mutable.color = "red";
  assert.deepEqual([...index.endpointsMatching(sid("blue"))], ["m"], "the index kept its copy");
  index.upsertEndpoint(eid("f"), Object.freeze({ color: "blue" }));
  assert.deepEqual([...index.endpointsMatching(sid("blue"))].sort(), ["f", "m"]);
  index.upsertEndpoint(eid("f"), Object.freeze({ color: "red" }));
  assert.deepEqual([...index.endpointsMatching(sid("blue"))], ["m"]);
});
