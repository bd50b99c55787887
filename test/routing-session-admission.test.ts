import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import type { RequestRouterOptions } from "../src/backend/request-router.js";
import type { Placement, RouteHints } from "../src/backend/router-types.js";
import { AffinityStore, MIN_THINK_SAMPLES } from "../src/routing/affinity-store.js";
import { affinityPick, liveVictimChunks, type AffinityView } from "../src/routing/kv-affinity.js";
import { PrefixIndex } from "../src/routing/prefix-index.js";
import { fingerprintRequest, fingerprintText } from "../src/routing/prompt-fingerprint.js";
import type { Candidate } from "../src/routing/types.js";
import { affinityRouter } from "./helpers/idle-fleet.js";

const MODEL = "llama3.2:1b";
const doc = (seed: string, chars: number) =>
  `${seed} `.repeat(Math.ceil(chars / (seed.length + 1))).slice(0, chars);
const hashes = (text: string) => fingerprintText(text).hashes;
const ok = { ok: true };

function candidate(id: string, over: Partial<Candidate> = {}): Candidate {
  return {
    id,
    health: "healthy",
    breaker: "closed",
    draining: false,
    inFlight: 0,
    capacity: 4,
    hasModel: true,
    canHoldModel: true,
    residency: "hot",
    ...over,
  } as Candidate;
}

describe("prefix index, as Ollama's runner fills its slots", () => {
  it("forks a new conversation that shares a live one's system prompt, so the live one stays", () => {
    const index = new PrefixIndex({ maxSequences: 4, maxChunks: 1000 });
    const system = doc("shared system prompt", 2000);
    const a = hashes(system + doc(" conversation a", 2000));
    index.record(a, 1, 10_000);
    index.finish(a, 2);
    index.record(hashes(system + doc(" conversation b", 2000)), 3, 10_000);
    assert.equal(index.sequenceCount, 2);
    assert.equal(index.match(a), a.length, "a's whole prompt is still held");
  });

  it("lets a prompt take over the sequence it shares a prefix with when no conversation is live there", () => {
    const index = new PrefixIndex({ maxSequences: 4, maxChunks: 1000 });
    const preamble = doc("agent preamble", 4000);
    const first = hashes(preamble + doc(" task one", 400));
    index.record(first, 1);
    index.finish(first, 2);
    index.record(hashes(preamble + doc(" task two", 400)), 3);
    assert.equal(index.sequenceCount, 1, "one sequence per shared preamble");
  });

  it("does not count a prompt identical to one still in flight as continuing it: that slot is busy", () => {
    const index = new PrefixIndex({ maxSequences: 4, maxChunks: 1000 });
    const prompt = hashes(doc("same question", 2000));
    index.record(prompt, 1);
    assert.equal(index.extends(prompt), false);
    index.finish(prompt, 2);
    assert.equal(index.extends(prompt), true);
  });

  it("names the live conversation a new one would evict: the least recently sent idle slot", () => {
    const index = new PrefixIndex({ maxSequences: 2, maxChunks: 1000 });
    const older = hashes(doc("older", 2000));
    const newer = hashes(doc("newer", 1000));
    index.record(older, 0, 500);
    index.record(newer, 10, 500);
    index.finish(newer, 20);
    // 'older' is still answering, so the slot Ollama would reuse is 'newer', answered 80 ms ago: live.
    assert.equal(index.liveVictimChunks(100, 500), newer.length);
    index.finish(older, 400);
    // 'older' was sent first, so it is the victim, and it answered 200 ms ago: live.
    assert.equal(index.liveVictimChunks(600, 500), older.length);
    // Once 'older' has been silent for the whole liveness window, nothing live would be evicted.
    assert.equal(index.liveVictimChunks(900, 500), 0);
    assert.equal(index.liveVictimChunks(600, undefined), 0, "no liveness estimate: nothing counts as live");
  });
});

describe("liveness learned from think times", () => {
  it("counts a conversation as live for 1.25 × the 95th percentile of think times, once enough were seen", () => {
    const store = new AffinityStore(30);
    const info = { slots: 4, memoryLimitBytes: undefined };
    let text = doc("conversation", 2000);
    let now = 0;
    for (let turn = 0; turn <= MIN_THINK_SAMPLES; turn++) {
      if (turn === MIN_THINK_SAMPLES - 1) assert.equal(store.livenessMs(), undefined);
      store.touch("a", MODEL, hashes(text), now);
      store.record("a", MODEL, info, hashes(text), 0, text.length, now);
      now += 100;
      store.finish("a", MODEL, hashes(text), now);
      now += 400; // the client thinks for 400 ms
      text += doc(` turn ${turn}`, 256);
    }
    assert.equal(store.livenessMs(), 500);
  });
});

describe("affinity rule with live conversations", () => {
  const views = (entries: Record<string, Partial<AffinityView>>) =>
    new Map(Object.entries(entries).map(([id, v]) => [id, { matchChunks: 0, liveSequences: 0, ...v }]));

  it("a follow-up goes to its own slot even on the busier instance: no balance guard there", () => {
    const pool = [candidate("a", { inFlight: 3 }), candidate("b")];
    const d = affinityPick(pool, views({ a: { matchChunks: 40, extendsSequence: true } }), 50, "b");
    assert.deepEqual(d, { id: "a", reason: "prefix-match", matchChunks: 40 });
  });

  it("a new conversation takes the instance where it evicts no live one, over a shared system prompt", () => {
    const pool = [candidate("a"), candidate("b")];
    const v = views({ a: { matchChunks: 12, victimChunks: 90 }, b: { matchChunks: 12 } });
    const d = affinityPick(pool, v, 100, "a");
    assert.deepEqual(d, { id: "b", reason: "prefix-match", matchChunks: 12 });
    assert.equal(liveVictimChunks(d!, v), undefined);
  });

  it("reports the live conversation a choice would evict, and none for the conversation's own slot", () => {
    const v = views({ a: { victimChunks: 90 }, b: { victimChunks: 90, extendsSequence: true } });
    assert.equal(liveVictimChunks({ id: "a", reason: "balancer", matchChunks: 0 }, v), 90);
    assert.equal(liveVictimChunks({ id: "b", reason: "prefix-match", matchChunks: 9 }, v), undefined);
  });
});

/**
 * One idle one-slot instance running MODEL, a router with affinity, and a live conversation A: a few turns,
 * each answered in 100 ms, its client thinking `thinkMs` in between (so the liveness window is 1.25 × that).
 */
function rig(t: TestContext, thinkMs: number, over: Partial<RequestRouterOptions> = {}) {
  const { clock, router } = affinityRouter(t, ["a"], MODEL, over);
  const placed = (hints: RouteHints): Placement => {
    const r = router.route(MODEL, "normal", new Set(), hints);
    assert.equal(r.kind, "placed");
    return (r as { placement: Placement }).placement;
  };
  const messages: { role: string; content: string }[] = [{ role: "system", content: doc("document", 8000) }];
  const turn = (): RouteHints => {
    messages.push({ role: "user", content: `question ${messages.length}` });
    return { fingerprint: fingerprintRequest("chat", { messages }) };
  };
  for (let k = 0; k <= MIN_THINK_SAMPLES; k++) {
    const p = placed(turn());
    clock.advance(100);
    p.release(ok);
    messages.push({ role: "assistant", content: doc(`answer ${k}`, 300) });
    if (k < MIN_THINK_SAMPLES) clock.advance(thinkMs);
  }
  return { clock, router, placed, turn };
}

/** Lets every pending promise chain run (the admission queue resolves a placement several hops later). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

const settledFlag = (p: Promise<unknown>) => {
  const state = { settled: false };
  void p.then(() => (state.settled = true));
  return state;
};

describe("session admission: no new conversation evicts a live one", () => {
  it("holds a new conversation while the only slot holds a live one, lets its turns pass, then admits it", async (t) => {
    const { clock, router, turn } = rig(t, 400);
    clock.advance(100);
    const opener = {
      fingerprint: fingerprintRequest("chat", { messages: [{ role: "user", content: doc("new", 8000) }] }),
    };
    assert.equal(router.route(MODEL, "normal", new Set(), opener).kind, "full", "the slot is free but live");
    const waiting = router.admit(MODEL, "normal", new Set(), new AbortController().signal, opener);
    const state = settledFlag(waiting);
    await flush();
    assert.equal(state.settled, false);
    assert.deepEqual(router.sessionAdmission(), { livenessMs: 500, heldOpeners: 1, heldLostTurns: 0 });
    assert.equal(router.affinityStats()[0]?.liveConversations, 1);

    // A's next turn queues behind it (newcomers do), overtakes it (its own slot) and keeps A live.
    clock.advance(100);
    const next = await router.admit(MODEL, "normal", new Set(), new AbortController().signal, turn());
    assert.equal(next.kind, "placed");
    clock.advance(100);
    (next as { placement: Placement }).placement.release(ok);
    clock.advance(400);
    await flush();
    assert.equal(state.settled, false, "400 ms after A's last answer, A is still live");

    // A says nothing more: 500 ms after its last answer it no longer counts, and the opener goes in.
    clock.advance(100);
    const admitted = await waiting;
    assert.equal(admitted.kind, "placed");
  });

  it("holds a turn whose own cache was lost as it holds an opener: it would evict a live one", async (t) => {
    // A's client thinks 2 s, so A stays live for 2.5 s after its last answer.
    const { clock, router } = rig(t, 2_000);
    clock.advance(100);
    // Not an opener (the plain-text fingerprint carries no first-turn mark): a turn whose own cache is gone.
    const lost = { fingerprint: fingerprintText(doc("elsewhere", 8000)) };
    const waiting = router.admit(MODEL, "normal", new Set(), new AbortController().signal, lost);
    const state = settledFlag(waiting);
    // A's ~9,600 characters ≈ 2,400 tokens ≈ 1.2 s of prefill at the default 2 tokens/ms: an idle slot
    // for longer than A's re-prefill does not let it in, because A would then evict the next one.
    clock.advance(1_400);
    await flush();
    assert.equal(state.settled, false);
    assert.equal(router.sessionAdmission()?.heldLostTurns, 1);
    clock.advance(1_000);
    const admitted = await waiting;
    assert.equal(admitted.kind, "placed", "A has been silent for 2.5 s: its slot is free");
  });

  it("with session admission off (SessionAdmission = false), a new conversation evicts at once", async (t) => {
    const { clock, router } = rig(t, 400, { sessionHoldMs: 0 });
    clock.advance(100);
    const opener = {
      fingerprint: fingerprintRequest("chat", { messages: [{ role: "user", content: doc("new", 8000) }] }),
    };
    const admitted = await router.admit(MODEL, "normal", new Set(), new AbortController().signal, opener);
    assert.equal(admitted.kind, "placed");
    assert.deepEqual(router.sessionAdmission(), { livenessMs: 500, heldOpeners: 0, heldLostTurns: 0 });
  });

  it("marks chat requests without an assistant turn, and generate calls without context, as openers", () => {
    const user = { role: "user", content: "hi" };
    assert.equal(fingerprintRequest("chat", { messages: [user] }).opensConversation, true);
    const followUp = [user, { role: "assistant", content: "hello" }, user];
    assert.equal(fingerprintRequest("openai_chat", { messages: followUp }).opensConversation, false);
    assert.equal(fingerprintRequest("generate", { prompt: "x" }).opensConversation, true);
    assert.equal(fingerprintRequest("generate", { prompt: "x", context: [1, 2] }).opensConversation, false);
  });
});
