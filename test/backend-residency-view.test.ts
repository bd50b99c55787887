import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ResidencyView } from "../src/backend/residency-view.js";

const GB = 1e9;
const ps = (name: string, sizeVram: number, digest: string) =>
  ({ name, model: name, size: sizeVram, size_vram: sizeVram, digest, expires_at: "" }) as never;

describe("the gateway's view of what an instance has loaded", () => {
  it("counts a load it started as loaded at once, and the model that load unloads as gone", () => {
    const view = new ResidencyView();
    view.setReported([ps("a:1b", 5 * GB, "1")]);
    assert.deepEqual(view.victims("b:1b", 4 * GB, 8 * GB), ["a:1b"]);
    view.beginLoad("b:1b", 4 * GB, 8 * GB);
    assert.equal(view.isLoaded("b:1b"), true);
    assert.equal(view.isLoaded("a:1b"), false);
    assert.ok(view.loadedBytes() < 8 * GB, "the view never holds more than the GPU");
    assert.deepEqual(
      view.reportedModels().map((m) => m.name),
      ["a:1b"],
      "what the instance reported stays as it was",
    );
  });

  it("keeps the expected load through a /api/ps taken while it is still loading", () => {
    const view = new ResidencyView();
    view.setReported([ps("a:1b", 5 * GB, "1")]);
    view.countInFlight("b:1b", 1);
    view.beginLoad("b:1b", 4 * GB, 8 * GB);
    view.setReported([ps("a:1b", 5 * GB, "1")]);
    assert.equal(view.isLoaded("b:1b"), true);
    assert.equal(view.isLoaded("a:1b"), false);
  });

  it("takes the next /api/ps as the truth once the load's request has ended", () => {
    const view = new ResidencyView();
    view.setReported([ps("a:1b", 5 * GB, "1")]);
    view.countInFlight("b:1b", 1);
    view.beginLoad("b:1b", 4 * GB, 8 * GB);
    view.countInFlight("b:1b", -1);
    assert.equal(view.endRequest("b:1b", true), true, "the caller must re-read /api/ps");
    assert.equal(view.isLoaded("b:1b"), true, "until it does, the load counts");
    // Ollama's keep-alive already unloaded b again: the view follows /api/ps, not the guess.
    view.setReported([]);
    assert.equal(view.isLoaded("b:1b"), false);
    assert.equal(view.isLoaded("a:1b"), false);
  });

  it("forgets a load whose only request failed, and the models it would have unloaded come back", () => {
    const view = new ResidencyView();
    view.setReported([ps("a:1b", 5 * GB, "1")]);
    view.countInFlight("b:1b", 1);
    view.beginLoad("b:1b", 4 * GB, 8 * GB);
    view.countInFlight("b:1b", -1);
    assert.equal(view.endRequest("b:1b", false), true, "the caller must re-read /api/ps");
    assert.equal(view.isLoaded("b:1b"), false);
    assert.equal(view.isLoaded("a:1b"), true);
  });

  it("unloads nothing for a model that fits beside the loaded ones", () => {
    const view = new ResidencyView();
    view.setReported([ps("a:1b", 5 * GB, "1")]);
    view.beginLoad("b:1b", 4 * GB, 12 * GB);
    assert.equal(view.isLoaded("a:1b"), true);
    assert.equal(view.isLoaded("b:1b"), true);
  });
});
