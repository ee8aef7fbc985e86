// The JSON-lines follower on its own (partial lines, rotation by rename, truncation), and
// NodeFlows taking GlobalAlerts from resource events: an invalid one is named and skipped,
// the valid ones alert.
import assert from "node:assert/strict";
import {
  appendFileSync,
  mkdtempSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type Alert, NodeFlows } from "../../src/flows/index.ts";
import { JsonLinesFollower } from "../../src/flows/json-follower.ts";
import type { Resource } from "../../src/model/index.ts";
import { ns, packet, pod, upsert } from "./fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "msx-follow-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("follower: partial lines wait for their newline; rotation and truncation lose nothing", () => {
  const file = join(dir, "out.json");
  writeFileSync(file, "");
  const lines: string[] = [];
  const f = new JsonLinesFollower(file, { pollMs: 3_600_000, onLine: (l) => lines.push(l) });
  f.start();
  appendFileSync(file, '{"a":1}\n{"a":');
  f.poll();
  assert.deepEqual(lines, ['{"a":1}']);
  appendFileSync(file, "2}\n");
  f.poll();
  assert.deepEqual(lines, ['{"a":1}', '{"a":2}']);
  // Written after the last poll, then rotated: the old file's tail comes first.
  appendFileSync(file, '{"a":3}\n');
  renameSync(file, `${file}.1`);
  writeFileSync(file, '{"a":4}\n');
  f.poll();
  assert.deepEqual(lines.slice(2), ['{"a":3}', '{"a":4}']);
  assert.equal(f.rotations, 1);
  truncateSync(file, 0);
  f.poll();
  appendFileSync(file, '{"a":5}\n');
  f.poll();
  assert.deepEqual(lines.slice(4), ['{"a":5}']);
  f.stop();
});

test("NodeFlows: GlobalAlerts come from the resource events; an invalid one is named and skipped", () => {
  const warnings: Array<Record<string, unknown>> = [];
  const flows = new NodeFlows({
    defaultAlert: false,
    log: { info: () => {}, warn: (msg, fields) => warnings.push({ msg, ...fields }) },
  });
  const raised: Alert[] = [];
  flows.alertStream.stream.subscribe((a) => raised.push(a));
  // Not validated: the invalid one must reach NodeFlows as a slipped-through object would.
  const alert = (name: string, selector: string): Resource =>
    ({
      apiVersion: "microseg.io/v1",
      kind: "GlobalAlert",
      metadata: { name },
      spec: { description: "denied", severity: 40, selector },
    }) as unknown as Resource;
  flows.apply(
    [
      ns("shop"),
      pod("shop", "a", "198.18.0.1", {}),
      pod("shop", "b", "198.18.0.2", {}),
      alert("good", 'action == "deny"'),
      alert("bad", "action =="),
    ].map(upsert),
    1_800_000_000_000,
  );
  assert.deepEqual(
    warnings.map((w) => [w.msg, w.alert, w.field]),
    [["GlobalAlert ignored", "bad", "spec.selector"]],
  );
  flows.pipeline.onPacket(
    packet({
      time: 1_800_000_000_100,
      prefix: { action: "T", direction: "ingress", tier: "default" },
      src: "198.18.0.1",
      dst: "198.18.0.2",
    }),
  );
  assert.deepEqual(
    raised.map((a) => a.alert),
    ["good"],
  );
});
