/** The admission queue's service order: priority, FIFO, ageing, no head-of-line blocking, pump. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AdmissionQueue,
  type AdmissionQueueOptions,
  type QueuedWaiter,
} from "../src/queue/admission-queue.js";
import type { Priority } from "../src/routing/types.js";
import { ManualClock } from "./helpers/manual-clock.js";

/** A queue whose placement hands out per-model free slots that the test sets. */
function harness(over: Partial<AdmissionQueueOptions<string, string>> = {}) {
  const clock = new ManualClock();
  const free = new Map<string, number>();
  const served: string[] = [];
  const asked: string[] = [];
  const queue = new AdmissionQueue<string, string>({
    maxSize: 512,
    agingMs: 10_000,
    clock,
    place: (w: QueuedWaiter<string>) => {
      asked.push(w.item);
      const n = free.get(w.model) ?? 0;
      if (n <= 0) return undefined;
      free.set(w.model, n - 1);
      served.push(w.item);
      return `${w.model}@gpu0`;
    },
    ...over,
  });
  const add = (item: string, model = "llama3", priority: Priority = "normal") =>
    queue.enqueue({ model, priority, item, timeoutMs: 600_000 });
  return { clock, queue, free, served, asked, add };
}

describe("AdmissionQueue order", () => {
  it("serves high before normal before low, FIFO within a priority", () => {
    const { queue, free, served, add } = harness();
    add("low-1", "m", "low");
    add("normal-1", "m", "normal");
    add("high-1", "m", "high");
    add("low-2", "m", "low");
    add("normal-2", "m", "normal");
    add("high-2", "m", "high");
    free.set("m", 6);
    assert.equal(queue.pump(), 6);
    assert.deepEqual(served, ["high-1", "high-2", "normal-1", "normal-2", "low-1", "low-2"]);
    assert.equal(queue.depth, 0);
  });

  it("resolves each waiter with its placement and how long it waited", async () => {
    const { clock, queue, free, add } = harness();
    const p = add("a", "m");
    clock.advance(1_234);
    free.set("m", 1);
    queue.pump();
    assert.deepEqual(await p, { placement: "m@gpu0", waitedMs: 1_234 });
  });

  it("ages a low waiter one step per agingMs, so it is served before newer normal ones", () => {
    const { clock, queue, free, served, add } = harness({ agingMs: 10_000 });
    add("low-old", "m", "low");
    clock.advance(5_000);
    add("normal-5s", "m", "normal");
    clock.advance(4_999);
    // 9.999 s: the low waiter is still low.
    free.set("m", 1);
    queue.pump();
    assert.deepEqual(served, ["normal-5s"]);
    add("normal-10s", "m", "normal");
    clock.advance(1);
    // 10 s: promoted to normal and older than any normal waiter.
    free.set("m", 1);
    queue.pump();
    assert.deepEqual(served, ["normal-5s", "low-old"]);
  });

  it("after two ageing steps a low waiter outranks a newer high one, but not an older one", () => {
    const { clock, queue, free, served, add } = harness({ agingMs: 10_000 });
    add("high-old", "m", "high");
    add("low", "m", "low");
    clock.advance(15_000);
    add("high-new", "m", "high");
    clock.advance(5_000);
    free.set("m", 3);
    queue.pump();
    assert.deepEqual(served, ["high-old", "low", "high-new"]);
  });

  it("reports the aged priority a waiter was served at", () => {
    const { clock, queue, free, add } = harness({ agingMs: 10_000 });
    const seen: string[] = [];
    queue.events.on("dequeued", (e) => seen.push(`${e.priority}->${e.effectivePriority}@${e.waitedMs}`));
    add("a", "m", "low");
    clock.advance(25_000);
    free.set("m", 1);
    queue.pump();
    assert.deepEqual(seen, ["low->high@25000"]);
  });

  it("never starves low priority under a steady stream of normal requests", () => {
    const { clock, queue, free, served, add } = harness({ agingMs: 10_000 });
    add("low", "m", "low");
    // One normal request arrives and one slot frees every second.
    let t = 0;
    while (!served.includes("low")) {
      add(`normal-${t}`, "m", "normal");
      clock.advance(1_000);
      t++;
      free.set("m", 1);
      queue.pump();
      assert.ok(t < 100, "low waiter starved");
    }
    assert.equal(t, 10, "served as soon as ageing made it the oldest normal");
  });

  it("does not let a full model block waiters for another model (no head-of-line blocking)", async () => {
    const { queue, free, served, add } = harness();
    const blocked = add("big-1", "llama3.1:70b", "high");
    add("big-2", "llama3.1:70b", "high");
    const small = add("small-1", "qwen2.5:3b", "low");
    free.set("qwen2.5:3b", 1);
    assert.equal(queue.pump(), 1);
    assert.deepEqual(served, ["small-1"]);
    assert.deepEqual(await small, { placement: "qwen2.5:3b@gpu0", waitedMs: 0 });
    assert.equal(queue.depth, 2);
    assert.deepEqual(queue.stats().byModel, { "llama3.1:70b": { high: 2, normal: 0, low: 0 } });
    free.set("llama3.1:70b", 1);
    queue.pump();
    assert.deepEqual(served, ["small-1", "big-1"]);
    assert.deepEqual(await blocked, { placement: "llama3.1:70b@gpu0", waitedMs: 0 });
  });

  it("places as many waiters as placements allow in one pump and leaves the rest in order", () => {
    const { queue, free, served, add } = harness();
    for (let i = 1; i <= 5; i++) add(`w${i}`, "m");
    free.set("m", 3);
    assert.equal(queue.pump(), 3);
    assert.deepEqual(served, ["w1", "w2", "w3"]);
    assert.equal(queue.depth, 2);
    assert.equal(queue.pump(), 0);
    free.set("m", 5);
    assert.equal(queue.pump(), 2);
    assert.deepEqual(served, ["w1", "w2", "w3", "w4", "w5"]);
  });

  it("asks place once per model per pump after a refusal (default placement key)", () => {
    const { queue, asked, add } = harness();
    for (let i = 0; i < 512; i++) add(`w${i}`, `model-${i % 8}`, (["high", "normal", "low"] as const)[i % 3]);
    for (let pump = 0; pump < 1_000; pump++) queue.pump();
    assert.equal(asked.length, 8 * 1_000);
  });

  it("asks about every waiter when the placement key is null (place depends on the item)", () => {
    const { queue, free, asked, served, add } = harness({ placementKey: null });
    add("a", "m");
    add("b", "m");
    add("c", "m");
    free.set("m", 0);
    queue.pump();
    assert.deepEqual(asked, ["a", "b", "c"]);
    assert.deepEqual(served, []);
  });

  it("honours a custom placement key that includes what place depends on", () => {
    const clock = new ManualClock();
    const served: string[] = [];
    // Waiters carry the instance they must avoid (a failover retry); gpu0 is full, gpu1 has a slot.
    const queue = new AdmissionQueue<{ name: string; avoid: string }, string>({
      maxSize: 10,
      agingMs: 10_000,
      clock,
      placementKey: (w) => `${w.model}|${w.item.avoid}`,
      place: (w) => {
        if (w.item.avoid === "gpu1") return undefined;
        served.push(w.item.name);
        return "gpu1";
      },
    });
    void queue.enqueue({
      model: "m",
      priority: "normal",
      item: { name: "a", avoid: "gpu1" },
      timeoutMs: 1e6,
    });
    void queue.enqueue({
      model: "m",
      priority: "normal",
      item: { name: "b", avoid: "gpu0" },
      timeoutMs: 1e6,
    });
    assert.equal(queue.pump(), 1);
    assert.deepEqual(served, ["b"]);
  });

  it("runs once more when pump is called again from inside place, and never nests", () => {
    const clock = new ManualClock();
    let slots = 1;
    let depthInside = 0;
    let nested = 0;
    const queue = new AdmissionQueue<string, number>({
      maxSize: 10,
      agingMs: 10_000,
      clock,
      place: () => {
        depthInside++;
        nested = Math.max(nested, depthInside);
        let result: number | undefined;
        if (slots > 0) {
          slots--;
          // Placing one frees another slot elsewhere (say a cancelled duplicate) and pumps again.
          if (slots === 0 && queue.depth > 1) slots = 1;
          queue.pump();
          result = 1;
        }
        depthInside--;
        return result;
      },
    });
    for (let i = 0; i < 3; i++)
      void queue.enqueue({ model: "m", priority: "normal", item: "x", timeoutMs: 1e6 });
    assert.equal(queue.pump(), 3);
    assert.equal(nested, 1);
    assert.equal(queue.depth, 0);
  });

  it("an exception in place rejects only that waiter", async () => {
    const clock = new ManualClock();
    const queue = new AdmissionQueue<string, string>({
      maxSize: 10,
      agingMs: 10_000,
      clock,
      placementKey: null,
      place: (w) => {
        if (w.item === "bad") throw new Error("boom");
        return "ok";
      },
    });
    const bad = queue.enqueue({ model: "m", priority: "high", item: "bad", timeoutMs: 1_000 });
    const good = queue.enqueue({ model: "m", priority: "normal", item: "good", timeoutMs: 1_000 });
    assert.equal(queue.pump(), 1);
    await assert.rejects(bad, /boom/);
    assert.deepEqual(await good, { placement: "ok", waitedMs: 0 });
    assert.equal(clock.pendingTimers, 0);
  });
});
