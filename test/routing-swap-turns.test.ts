import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import type { Placement, RouteResult } from "../src/backend/router-types.js";
import { victimsFor } from "../src/routing/eviction.js";
import { modelAwareDecision, SWAP_WAIT_LOAD_MULTIPLE } from "../src/routing/model-aware.js";
import { PerformanceTracker } from "../src/routing/performance-tracker.js";
import { candidate } from "./helpers/candidate.js";
import { idleFleet, manualRouter } from "./helpers/idle-fleet.js";
import { ManualClock } from "./helpers/manual-clock.js";

const GB = 1e9;

describe("Ollama's choice of what a load unloads", () => {
  it("unloads nothing when the new model fits beside the loaded ones", () => {
    const loaded = [{ name: "a", bytes: 4 * GB, digest: "1", inFlight: 0 }];
    assert.deepEqual(victimsFor(loaded, 4 * GB, 12 * GB), []);
  });

  it("unloads idle models first, in digest order, until the new one fits", () => {
    const loaded = [
      { name: "busy", bytes: 4 * GB, digest: "0", inFlight: 2 },
      { name: "idle-late", bytes: 4 * GB, digest: "9", inFlight: 0 },
      { name: "idle-early", bytes: 4 * GB, digest: "5", inFlight: 0 },
    ];
    assert.deepEqual(victimsFor(loaded, 5 * GB, 12 * GB), ["idle-early", "idle-late"]);
  });

  it("waits for a busy model when no idle one is left", () => {
    const loaded = [
      { name: "b", bytes: 6 * GB, digest: "2", inFlight: 1 },
      { name: "a", bytes: 6 * GB, digest: "1", inFlight: 1 },
    ];
    assert.deepEqual(victimsFor(loaded, 5 * GB, 12 * GB), ["a"]);
  });
});

describe("cold loads take turns instead of thrashing", () => {
  const cold = (id: string, evictionDemand: number) =>
    candidate(id, { residency: "cold", loadPenaltyMs: 2_000, evictionDemand });

  it("goes at once to an instance whose load would unload nothing in use", () => {
    const d = modelAwareDecision([cold("busy", 3), cold("spare", 0)], { model: "m", priority: "normal" });
    assert.deepEqual(
      d.pool.map((c) => c.id),
      ["spare"],
    );
    assert.equal(d.retryInMs, undefined);
  });

  it("waits its turn (a multiple of the load time) when every load would unload a model in use, then evicts the least used", () => {
    const pool = [cold("a", 3), cold("b", 1)];
    const fresh = modelAwareDecision(pool, { model: "m", priority: "normal", waitedMs: 500 });
    assert.deepEqual(fresh.pool, []);
    assert.equal(fresh.retryInMs, SWAP_WAIT_LOAD_MULTIPLE * 2_000 - 500);
    const due = modelAwareDecision(pool, {
      model: "m",
      priority: "normal",
      waitedMs: SWAP_WAIT_LOAD_MULTIPLE * 2_000,
    });
    assert.deepEqual(
      due.pool.map((c) => c.id),
      ["b"],
    );
  });

  it("never holds back a warm load, which unloads nothing", () => {
    const d = modelAwareDecision([candidate("w", { residency: "warm", loadPenaltyMs: 2_000 })], {
      model: "m",
      priority: "normal",
    });
    assert.deepEqual(
      d.pool.map((c) => c.id),
      ["w"],
    );
  });
});

const A = "mistral:7b";
const B = "gemma2:9b";
const tag = (name: string, size: number, digest: string) => ({
  name,
  model: name,
  size,
  digest,
  modified_at: "",
  details: {},
});
const ps = (name: string, size: number, digest: string) => ({
  name,
  model: name,
  size,
  size_vram: size * 1.3,
  digest,
  expires_at: "",
});

/** One 8 GB GPU with 2 slots running A (4.4 GB); B (5.4 GB) is on disk and needs A's memory. */
function rig(t: TestContext) {
  const clock = new ManualClock(1_000);
  const fleet = idleFleet(
    [{ id: "gpu0", memoryLimitBytes: 8 * GB, maxConcurrentRequests: 2, models: [] }],
    clock.now,
  );
  const gpu = fleet.instances()[0]!;
  gpu.setInventory(
    [tag(A, 4.4 * GB, "aa"), tag(B, 5.4 * GB, "bb")] as never,
    [ps(A, 4.4 * GB, "aa")] as never,
  );
  gpu.healthTracker.recordSuccess("active");
  const perf = new PerformanceTracker({ now: clock.now });
  const router = manualRouter(t, fleet, clock, {
    perf,
    maxQueueSize: 16,
    queueTimeoutMs: 600_000,
    agingMs: 60_000,
  });
  return { clock, gpu, router, loadMs: perf.estimateLoadMs("gpu0", 5.4 * GB) };
}

const placed = (r: RouteResult): Placement => {
  assert.equal(r.kind, "placed");
  return (r as { placement: Placement }).placement;
};

describe("a swap waits its turn on a busy GPU (manual clock)", () => {
  it("lets the loaded model's queued requests go first, then swaps once the turn has come", async (t) => {
    const { clock, gpu, router, loadMs } = rig(t);
    const a1 = placed(router.route(A, "normal", new Set()));
    const a2 = placed(router.route(A, "normal", new Set()));
    const signal = new AbortController().signal;
    let swapped: RouteResult | undefined;
    const waitingB = router.admit(B, "normal", new Set(), signal);
    void waitingB.then((r) => (swapped = r));
    const waitingA = [
      router.admit(A, "normal", new Set(), signal),
      router.admit(A, "normal", new Set(), signal),
    ];

    // A slot frees: B is older, but loading it would unload A while two requests wait for A.
    a1.release({ ok: true });
    const a3 = placed(await waitingA[0]!);
    assert.equal(swapped, undefined, "B waits its turn");
    assert.equal(gpu.isLoaded(A), true);

    clock.advance(SWAP_WAIT_LOAD_MULTIPLE * loadMs);
    a2.release({ ok: true });
    const b = placed(await waitingB);
    assert.equal(b.instance.id, "gpu0", "its turn has come: it swaps although one request still waits for A");
    // From now on the gateway counts B loaded and A on its way out.
    assert.equal(gpu.isLoaded(B), true);
    assert.equal(gpu.isLoaded(A), false);
    a3.release({ ok: true });
    b.release({ ok: true });
    // Nobody waits for B any more: the last request for A swaps back at once.
    placed(await waitingA[1]!).release({ ok: true });
  });

  it("swaps at once when the loaded model is idle: nothing in flight, nothing waiting", async (t) => {
    const { gpu, router } = rig(t);
    placed(router.route(A, "normal", new Set())).release({ ok: true });
    const b = placed(router.route(B, "normal", new Set()));
    assert.equal(b.instance.id, "gpu0");
    assert.equal(gpu.isLoaded(A), false);
    b.release({ ok: true });
  });

  it("waits its turn behind a running answer of the loaded model, which would idle the GPU's other slots", async (t) => {
    const { clock, router, loadMs } = rig(t);
    const a = placed(router.route(A, "normal", new Set()));
    assert.equal(router.route(B, "normal", new Set()).kind, "full");
    const waitingB = router.admit(B, "normal", new Set(), new AbortController().signal);
    a.release({ ok: true });
    const b = placed(await waitingB);
    assert.equal(b.instance.id, "gpu0", "the answer ended: the swap goes at once, before its turn");
    assert.ok(clock.now() - 1_000 < SWAP_WAIT_LOAD_MULTIPLE * loadMs);
    b.release({ ok: true });
  });

  it("starts a swap on time even when no slot frees in between", async (t) => {
    const { clock, router, loadMs } = rig(t);
    const signal = new AbortController().signal;
    // A retried request for A that may not go back to gpu0 waits in the queue: demand for A.
    const retried = router.admit(A, "normal", new Set(["gpu0"]), signal);
    assert.equal(router.route(B, "normal", new Set()).kind, "full");
    let swapped: RouteResult | undefined;
    const waitingB = router.admit(B, "normal", new Set(), signal);
    void waitingB.then((r) => (swapped = r));
    clock.advance(SWAP_WAIT_LOAD_MULTIPLE * loadMs - 1);
    await Promise.resolve();
    assert.equal(swapped, undefined, "not before its turn");
    clock.advance(1);
    assert.equal(placed(await waitingB).instance.id, "gpu0");
    router.close();
    await assert.rejects(retried);
  });
});
