import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { medianInterval } from "../../bench/lib.ts";

describe("medianInterval", () => {
  it("takes the 4th smallest and the 4th largest of 15 values at 95% (96.5% coverage)", () => {
    const values = [15, 3, 9, 1, 12, 7, 5, 14, 2, 11, 8, 6, 13, 4, 10];
    assert.deepEqual(medianInterval(values), { low: 4, high: 12 });
  });

  it("widens to the extremes when only they reach the confidence", () => {
    assert.deepEqual(medianInterval([6, 1, 5, 2, 4, 3]), { low: 1, high: 6 });
  });

  it("gives NaN bounds when no interval of order statistics reaches the confidence", () => {
    const { low, high } = medianInterval([1, 2, 3, 4, 5]);
    assert.ok(Number.isNaN(low) && Number.isNaN(high));
  });

  it("narrows at a lower confidence and with more values", () => {
    const values = Array.from({ length: 15 }, (_, i) => i + 1);
    assert.deepEqual(medianInterval(values, 0.8), { low: 5, high: 11 });
    const many = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.deepEqual(medianInterval(many), { low: 40, high: 61 });
  });
});
