// Model drift, pure: digests per model across instances, the majority, and the instances each sync round pulls on.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { OllamaTagModel } from "../src/backend/ollama-types.js";
import { modelDigests, syncTargets } from "../src/supervisor/model-drift.js";

/** A /api/tags entry. */
function tag(name: string, digest: string, modifiedAt = "2025-01-01T00:00:00Z"): OllamaTagModel {
  return { name, model: name, digest, size: 1, modified_at: modifiedAt };
}

test("one digest everywhere is consistent; names are normalised and models sorted", () => {
  const report = modelDigests([
    { id: "a", models: [tag("Qwen2.5:7b", "d1"), tag("llama3.2", "x")] },
    { id: "b", models: [tag("qwen2.5:7b", "d1")] },
  ]);
  assert.deepEqual(
    report.map((m) => [m.model, m.consistent, m.majorityDigest, m.drifted]),
    [
      ["llama3.2:latest", true, "x", []],
      ["qwen2.5:7b", true, "d1", []],
    ],
  );
});

test("the digest most instances hold is the majority; the others drift", () => {
  const [m] = modelDigests([
    { id: "a", models: [tag("m:1", "old")] },
    { id: "b", models: [tag("m:1", "new", "2025-02-01T00:00:00Z")] },
    { id: "c", models: [tag("m:1", "old")] },
  ]);
  assert.equal(m?.consistent, false);
  assert.equal(m?.majorityDigest, "old");
  assert.deepEqual(m?.drifted, ["b"]);
  assert.deepEqual(m?.digests, [
    { digest: "old", instances: ["a", "c"] },
    { digest: "new", instances: ["b"] },
  ]);
});

test("on a tie the most recently written digest is the majority", () => {
  const [m] = modelDigests([
    { id: "a", models: [tag("m:1", "old", "2025-01-01T00:00:00Z")] },
    { id: "b", models: [tag("m:1", "new", "2025-03-01T00:00:00Z")] },
  ]);
  assert.equal(m?.majorityDigest, "new");
  assert.deepEqual(m?.drifted, ["a"]);
});

test("round 1 pulls on the drifted instances, round 2 on every holder not pulled yet, none when consistent", () => {
  const [m] = modelDigests([
    { id: "a", models: [tag("m:1", "old")] },
    { id: "b", models: [tag("m:1", "old")] },
    { id: "c", models: [tag("m:1", "new")] },
  ]);
  assert.ok(m);
  assert.deepEqual(syncTargets(m, 1, new Set()), ["c"]);
  assert.deepEqual(syncTargets(m, 2, new Set(["c"])), ["a", "b"]);
  const [same] = modelDigests([{ id: "a", models: [tag("m:1", "d")] }]);
  assert.ok(same);
  assert.deepEqual(syncTargets(same, 1, new Set()), []);
});
