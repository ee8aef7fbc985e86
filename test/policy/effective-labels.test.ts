// The flat label map every endpoint is judged on (src/policy/scope.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { effectiveLabels } from "../../src/policy/scope.ts";

test("own labels, then namespace, namespace labels, service account and orchestrator keys", () => {
  const labels = effectiveLabels({
    labels: { app: "web", "projectcalico.org/namespace": "forged" },
    namespace: "shop",
    namespaceLabels: { team: "a" },
    serviceAccount: "api",
    serviceAccountLabels: { tier: "1" },
    orchestrator: "k8s",
  });
  assert.deepEqual(labels, {
    app: "web",
    // The synthetic key wins over a label of the same name.
    "projectcalico.org/namespace": "shop",
    "pcns.team": "a",
    "pcns.projectcalico.org/name": "shop",
    "pcsa.tier": "1",
    "projectcalico.org/serviceaccount": "api",
    "pcsa.projectcalico.org/name": "api",
    "projectcalico.org/orchestrator": "k8s",
  });
  assert.ok(Object.isFrozen(labels), "frozen, so the label index keeps it without a copy");
});

test("a label named __proto__ is a label, not the prototype", () => {
  const labels = effectiveLabels({ labels: JSON.parse('{"__proto__": "x", "a": "b"}') });
  assert.equal(Object.getPrototypeOf(labels), Object.prototype);
  assert.deepEqual(Object.keys(labels), ["__proto__", "a"]);
  assert.equal(Object.getOwnPropertyDescriptor(labels, "__proto__")?.value, "x");
});
