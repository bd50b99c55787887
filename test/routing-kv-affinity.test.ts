import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AffinityStore, indexLimits } from "../src/routing/affinity-store.js";
import { affinityPick, type AffinityView } from "../src/routing/kv-affinity.js";
import { PrefixIndex } from "../src/routing/prefix-index.js";
import { CHUNK_CHARS, fingerprintRequest, fingerprintText } from "../src/routing/prompt-fingerprint.js";
import { candidate } from "./helpers/candidate.js";

const doc = (seed: string, chars: number) =>
  (seed + " ").repeat(Math.ceil(chars / (seed.length + 1))).slice(0, chars);

describe("prompt fingerprint", () => {
  it("turn n's hashes are a prefix of turn n+1's, over the whole rendered history", () => {
    const system = { role: "system", content: doc("you are a careful assistant", 1000) };
    const turn1 = { model: "m", messages: [system, { role: "user", content: doc("first question", 600) }] };
    const turn2 = {
      model: "m",
      messages: [
        ...turn1.messages,
        { role: "assistant", content: doc("an answer", 500) },
        { role: "user", content: "next?" },
      ],
    };
    const a = fingerprintRequest("chat", turn1).hashes;
    const b = fingerprintRequest("chat", turn2).hashes;
    assert.ok(a.length >= 12);
    assert.ok(b.length > a.length);
    assert.deepEqual(b.slice(0, a.length), a);
  });

  it("prompts that differ only after the first message diverge where they differ, not at the first message", () => {
    const sys = { role: "system", content: doc("shared tool schema", 2000) };
    const a = fingerprintRequest("chat", {
      messages: [sys, { role: "user", content: doc("alpha", 800) }],
    }).hashes;
    const b = fingerprintRequest("chat", {
      messages: [sys, { role: "user", content: doc("beta", 800) }],
    }).hashes;
    const common = a.findIndex((h, i) => h !== b[i]);
    assert.ok(common >= Math.floor(2000 / CHUNK_CHARS) - 1, `diverged at chunk ${common}`);
    assert.notEqual(a[a.length - 1], b[b.length - 1]);
  });

  it("tools are part of the prefix: the same messages with other tools share nothing", () => {
    const messages = [{ role: "user", content: doc("hello", 1000) }];
    const a = fingerprintRequest("chat", { messages, tools: [{ name: "x" }] }).hashes;
    const b = fingerprintRequest("chat", { messages, tools: [{ name: "y" }] }).hashes;
    assert.notEqual(a[0], b[0]);
  });

  it("text shorter than one chunk gives no hashes", () => {
    assert.equal(fingerprintText("short").hashes.length, 0);
  });
});

describe("prefix index", () => {
  const hashes = (text: string) => fingerprintText(text).hashes;

  it("matches the longest held prefix and nothing of an unrelated prompt", () => {
    const index = new PrefixIndex({ maxSequences: 4, maxChunks: 1000 });
    const base = doc("session one context", 4000);
    index.record(hashes(base), 1);
    assert.equal(index.match(hashes(base + doc(" more", 1000))), hashes(base).length);
    assert.equal(index.match(hashes(doc("other", 4000))), 0);
  });

  it("a prompt that extends a held one takes over its slot instead of using another", () => {
    const index = new PrefixIndex({ maxSequences: 4, maxChunks: 1000 });
    const base = doc("conversation", 2000);
    index.record(hashes(base), 1);
    index.finish(hashes(base), 2);
    index.record(hashes(base + doc(" turn two", 1000)), 3);
    assert.equal(index.sequenceCount, 1);
  });

  it("keeps at most one sequence per slot, evicting the least recently used", () => {
    const index = new PrefixIndex({ maxSequences: 2, maxChunks: 1000 });
    const a = hashes(doc("aaa", 1000));
    const b = hashes(doc("bbb", 1000));
    const c = hashes(doc("ccc", 1000));
    index.record(a, 1);
    index.record(b, 2);
    index.record(c, 3);
    assert.equal(index.sequenceCount, 2);
    assert.equal(index.match(a), 0);
    assert.ok(index.match(b) > 0 && index.match(c) > 0);
  });

  it("never holds more chunks than its budget", () => {
    const index = new PrefixIndex({ maxSequences: 8, maxChunks: 20 });
    for (let i = 0; i < 8; i++) index.record(hashes(doc(`prompt ${i}`, 1280)), i);
    assert.ok(index.chunkCount <= 20, `${index.chunkCount} chunks`);
    index.clear();
    assert.equal(index.chunkCount, 0);
    assert.equal(index.sequenceCount, 0);
  });

  it("is sized from slots × context and capped by MaxCacheMemoryPercent of the memory limit", () => {
    assert.deepEqual(indexLimits({ slots: 4, memoryLimitBytes: undefined }, 30), {
      maxSequences: 4,
      maxChunks: 512,
    });
    // 1 GB × 10% ÷ 128 KiB per token ≈ 763 tokens ≈ 23 chunks.
    assert.deepEqual(indexLimits({ slots: 4, memoryLimitBytes: 1e9 }, 10), {
      maxSequences: 4,
      maxChunks: 23,
    });
  });
});

describe("affinity rule", () => {
  const views = (entries: Record<string, Partial<AffinityView>>) =>
    new Map(Object.entries(entries).map(([id, v]) => [id, { matchChunks: 0, liveSequences: 0, ...v }]));

  it("sends a request to the instance holding its longest prefix, whatever the balancer chose", () => {
    const pool = [candidate("a"), candidate("b", { inFlight: 1 }), candidate("c")];
    const d = affinityPick(pool, views({ a: { matchChunks: 3 }, b: { matchChunks: 40 } }), 50, "c");
    assert.deepEqual(d, { id: "b", reason: "prefix-match", matchChunks: 40 });
  });

  it("the balance guard refuses a match on an instance far more loaded than the least loaded", () => {
    const pool = [candidate("a", { inFlight: 3 }), candidate("b")];
    const d = affinityPick(pool, views({ a: { matchChunks: 40 } }), 50, "b");
    assert.deepEqual(d, { id: "b", reason: "balance-guard", matchChunks: 0 });
  });

  it("a match below the minimum share of the prompt does not count", () => {
    const pool = [candidate("a"), candidate("b")];
    const d = affinityPick(pool, views({ a: { matchChunks: 2 } }), 100, "b");
    assert.equal(d?.id, "b");
    assert.equal(d?.reason, "balancer");
  });

  it("a new session avoids an instance whose slots all hold live sessions when another has room", () => {
    const pool = [
      candidate("a", { capacity: 2 }),
      candidate("b", { capacity: 2 }),
      candidate("c", { capacity: 2 }),
    ];
    const d = affinityPick(pool, views({ a: { liveSequences: 2 }, b: { liveSequences: 1 } }), 30, "a");
    assert.deepEqual(d, { id: "c", reason: "session-spread", matchChunks: 0 });
  });

  it("chooses nothing when the balancer chose nothing", () => {
    assert.equal(affinityPick([candidate("a")], views({ a: { matchChunks: 9 } }), 10, undefined), undefined);
  });
});

describe("affinity store", () => {
  it("calibrates the prefill rate on predicted misses and estimates cached tokens from Ollama's figures", () => {
    const store = new AffinityStore(30);
    // Miss: 1000 tokens in 100 ms → 10 tokens/ms.
    assert.equal(store.measure("a", "m", 1000, 100, true), 0);
    // Hit: 1200 tokens but only 20 ms of prefill → 200 new, ~1000 cached.
    assert.equal(store.measure("a", "m", 1200, 20, false), 1000);
    const [s] = store.stats(0);
    assert.equal(s?.measuredPromptTokens, 2200);
    assert.equal(s?.measuredCachedTokens, 1000);
    assert.deepEqual(s?.prefillTokensPerSecond, { m: 10000 });
  });

  it("forgets a model's prefixes when the instance no longer has it loaded", () => {
    const store = new AffinityStore(30);
    const info = { slots: 2, memoryLimitBytes: undefined };
    const h = fingerprintText(doc("x", 1000)).hashes;
    store.record("a", "m", info, h, 0, 1000, 1);
    assert.ok(store.view("a", "m", info, h, 2).matchChunks > 0);
    store.retain("a", new Set(["other"]));
    assert.equal(store.view("a", "m", info, h, 2).matchChunks, 0);
  });
});
