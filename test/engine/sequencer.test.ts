// The sequencer's contract with the dataplane: typed members in key order, and members of a set
// no stage activated fail loudly (Felix panics) rather than leave the dataplane short.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EventSequencer } from "../../src/engine/sequencer.ts";
import type { SetId, SetSpec } from "../../src/engine/types.ts";
import { member, members } from "../members.ts";

const web: SetSpec = { id: "sel:web" as SetId, kind: "addresses", selector: "app == 'web'" };

describe("event sequencer, set members", () => {
  test("members go out typed, in key order, after their set", () => {
    const s = new EventSequencer();
    s.onSetActive(web);
    s.onMembersAdded(web.id, members(["198.18.0.9", "198.18.0.0/24", "198.18.0.10"]));
    const deltas = s.flush();
    assert.equal(deltas[0]?.type, "set-added");
    const added = deltas[1];
    assert.ok(added?.type === "set-members-added");
    assert.deepEqual(
      added.members.map((m) => m.kind),
      ["prefix", "address", "address"],
    );
    assert.deepEqual(added.members, members(["198.18.0.0/24", "198.18.0.10", "198.18.0.9"]));
  });

  test("an add and a remove of one member in a batch cancel", () => {
    const s = new EventSequencer();
    s.onSetActive(web);
    s.flush();
    s.onMembersAdded(web.id, [member("198.18.0.1")]);
    s.onMembersRemoved(web.id, [member("198.18.0.1")]);
    assert.deepEqual(s.flush(), []);
  });

  test("members of a set no stage activated throw, naming the set", () => {
    const s = new EventSequencer();
    s.onMembersAdded("sel:ghost" as SetId, [member("198.18.0.1")]);
    assert.throws(() => s.flush(), /members for set sel:ghost, which no stage activated/);
  });

  test("members of a set removed in the same batch are dropped with it", () => {
    const s = new EventSequencer();
    s.onSetActive(web);
    s.onMembersAdded(web.id, [member("198.18.0.1")]);
    s.flush();
    s.onMembersRemoved(web.id, [member("198.18.0.1")]);
    s.onSetInactive(web.id);
    assert.deepEqual(s.flush(), [{ type: "set-removed", id: web.id }]);
  });
});
