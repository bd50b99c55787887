import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import type { Placement } from "../src/backend/router-types.js";
import { idleFleet, manualRouter } from "./helpers/idle-fleet.js";
import { ManualClock } from "./helpers/manual-clock.js";

const MODEL = "llama3.2:1b";
const tag = { name: MODEL, model: MODEL, size: 1.3e9, digest: "d", modified_at: "", details: {} };

/** One instance the supervisor is still starting: held, its models not known yet. */
function rig(t: TestContext) {
  const clock = new ManualClock(1_000);
  const fleet = idleFleet([{ id: "gpu0", maxConcurrentRequests: 2 }], clock.now);
  const gpu = fleet.instances()[0]!;
  gpu.supervisorHold = "starting";
  const router = manualRouter(t, fleet, clock, { queueTimeoutMs: 30_000 });
  /** What the supervisor link does once the instance is up: inventory read, healthy, hold cleared. */
  const letIn = () => {
    gpu.setInventory([tag] as never, [] as never);
    gpu.healthTracker.recordSuccess("active");
    gpu.supervisorHold = undefined;
  };
  return { gpu, router, letIn };
}

describe("requests that arrive while the supervisor starts the instances", () => {
  it("wait for the starting instance instead of answering that the model does not exist", async (t) => {
    const { router, letIn } = rig(t);
    assert.equal(router.route(MODEL, "normal", new Set()).kind, "full");
    const waiting = router.admit(MODEL, "normal", new Set(), new AbortController().signal);
    // The link lets the instance in, then pumps the queue.
    letIn();
    router.queue.pump();
    const admitted = await waiting;
    assert.equal(admitted.kind, "placed");
    assert.equal((admitted as { placement: Placement }).placement.instance.id, "gpu0");
  });

  it("answers model_not_found to a waiter once the started instances turn out not to have its model", async (t) => {
    const { router, letIn } = rig(t);
    const waiting = router.admit("mistral:7b", "normal", new Set(), new AbortController().signal);
    letIn();
    router.queue.pump();
    const routed = await waiting;
    assert.equal(routed.kind, "none");
    assert.equal((routed as { reason: string }).reason, "model_not_found");
    assert.equal(router.queueStats().depth, 0);
  });

  it("still answers model_not_found once every instance is up and none has the model", (t) => {
    const { router, letIn } = rig(t);
    letIn();
    const routed = router.route("mistral:7b", "normal", new Set());
    assert.equal(routed.kind, "none");
    assert.equal((routed as { reason: string }).reason, "model_not_found");
  });

  it("does not wait for a started instance whose models are known and lack the one asked for", (t) => {
    const { gpu, router } = rig(t);
    gpu.setInventory([tag] as never, [] as never);
    const routed = router.route("mistral:7b", "normal", new Set());
    assert.equal(routed.kind, "none");
  });
});
