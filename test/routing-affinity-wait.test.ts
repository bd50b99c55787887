import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import type { Placement } from "../src/backend/router-types.js";
import { fingerprintText } from "../src/routing/prompt-fingerprint.js";
import { affinityRouter } from "./helpers/idle-fleet.js";

const MODEL = "llama3.2:1b";
const doc = (seed: string, chars: number) =>
  `${seed} `.repeat(Math.ceil(chars / (seed.length + 1))).slice(0, chars);

/** Two idle one-slot instances running MODEL (never started: nothing is called), a router with affinity. */
const rig = (t: TestContext) => affinityRouter(t, ["a", "b"], MODEL);

const ok = { ok: true };

describe("waiting for the instance that holds the prefix", () => {
  it("a conversation waits for its busy instance rather than prefilling elsewhere, then gets it", async (t) => {
    const { router } = rig(t);
    // 8,000 characters ≈ 2,000 tokens ≈ 1 s of prefill saved at the default 2 tokens/ms.
    const turn1 = { fingerprint: fingerprintText(doc("session", 8000)) };
    const first = router.route(MODEL, "normal", new Set(), turn1);
    assert.equal(first.kind, "placed");
    const home = (first as { placement: Placement }).placement;
    home.release(ok);
    // Someone else takes the home instance's only slot.
    const other = router.route(MODEL, "normal", new Set(), {
      fingerprint: fingerprintText(doc("other", 8000)),
    });
    assert.equal(other.kind, "placed");
    const busy = (other as { placement: Placement }).placement;
    assert.notEqual(busy.instance.id, home.instance.id, "a new session goes to the instance without one");
    busy.release(ok);
    const occupy = router.route(MODEL, "normal", new Set(), turn1);
    assert.equal((occupy as { placement: Placement }).placement.instance.id, home.instance.id);

    const turn2 = { fingerprint: fingerprintText(doc("session", 8000) + doc(" next question", 600)) };
    assert.equal(router.route(MODEL, "normal", new Set(), turn2).kind, "full", "it waits although b is idle");
    const waiting = router.admit(MODEL, "normal", new Set(), new AbortController().signal, turn2);
    (occupy as { placement: Placement }).placement.release(ok);
    const admitted = await waiting;
    assert.equal(admitted.kind, "placed");
    assert.equal((admitted as { placement: Placement }).placement.instance.id, home.instance.id);
  });

  it("gives up waiting once the wait would cost more than the prefill it saves", async (t) => {
    const { router, clock } = rig(t);
    const turn1 = { fingerprint: fingerprintText(doc("session", 8000)) };
    const first = router.route(MODEL, "normal", new Set(), turn1) as { placement: Placement };
    const homeId = first.placement.instance.id;
    const turn2 = { fingerprint: fingerprintText(doc("session", 8000) + doc(" next", 600)) };
    const waiting = router.admit(MODEL, "normal", new Set(), new AbortController().signal, turn2);
    clock.advance(500);
    router.queue.pump();
    let settled = false;
    void waiting.then(() => (settled = true));
    await Promise.resolve();
    assert.equal(settled, false, "half a second is less than the ~1 s the hit saves");
    clock.advance(1_000);
    router.queue.pump();
    const admitted = (await waiting) as { placement: Placement };
    assert.notEqual(admitted.placement.instance.id, homeId);
  });

  it("time spent while every instance is full does not count against the wait", async (t) => {
    const { router, clock } = rig(t);
    const turn1 = { fingerprint: fingerprintText(doc("session", 8000)) };
    const home = (router.route(MODEL, "normal", new Set(), turn1) as { placement: Placement }).placement;
    const elsewhere = router.route(MODEL, "normal", new Set(), {
      fingerprint: fingerprintText(doc("other", 8000)),
    }) as { placement: Placement };
    assert.notEqual(elsewhere.placement.instance.id, home.instance.id);
    const turn2 = { fingerprint: fingerprintText(doc("session", 8000) + doc(" next", 600)) };
    const waiting = router.admit(MODEL, "normal", new Set(), new AbortController().signal, turn2);
    // Both full for 5 s: far longer than the ~1 s the hit saves, but nothing else could have taken it.
    clock.advance(5_000);
    router.queue.pump();
    // The other instance frees first: the request still waits for its own, which frees soon after.
    elsewhere.placement.release(ok);
    clock.advance(200);
    home.release(ok);
    const admitted = (await waiting) as { placement: Placement };
    assert.equal(admitted.placement.instance.id, home.instance.id);
  });
});
