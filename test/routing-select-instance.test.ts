/** The gateway-core selection rule, as a pure function. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pickInstance } from "../src/routing/select-instance.js";

describe("pickInstance", () => {
  it("returns nothing when there is no candidate", () => {
    assert.equal(
      pickInstance([], () => 0),
      undefined,
    );
  });

  it("prefers an instance where the model is loaded even when it is busier", () => {
    const pick = pickInstance(
      [
        { id: "cold", inFlight: 0, loaded: false },
        { id: "hot", inFlight: 3, loaded: true },
      ],
      () => 0,
    );
    assert.equal(pick, "hot");
  });

  it("among loaded instances takes the one with the fewest requests in flight", () => {
    const pick = pickInstance(
      [
        { id: "a", inFlight: 2, loaded: true },
        { id: "b", inFlight: 1, loaded: true },
        { id: "c", inFlight: 0, loaded: false },
      ],
      () => 0,
    );
    assert.equal(pick, "b");
  });

  it("breaks ties with the random source so equal instances share traffic", () => {
    const candidates = [
      { id: "a", inFlight: 0, loaded: true },
      { id: "b", inFlight: 0, loaded: true },
      { id: "c", inFlight: 0, loaded: true },
    ];
    assert.equal(
      pickInstance(candidates, () => 0),
      "a",
    );
    assert.equal(
      pickInstance(candidates, () => 0.5),
      "b",
    );
    assert.equal(
      pickInstance(candidates, () => 0.99),
      "c",
    );
  });
});
