/** The admission queue's limits: full, timeout, client abort, close, stats and events. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AdmissionQueue,
  type Admission,
  type AdmissionQueueOptions,
  type QueueRejectedEvent,
} from "../src/queue/admission-queue.js";
import { QueueError } from "../src/queue/queue-error.js";
import type { Priority } from "../src/routing/types.js";
import { ManualClock } from "./helpers/manual-clock.js";

interface Tracked {
  state: "pending" | "resolved" | "rejected";
  value?: Admission<string>;
  error?: QueueError;
}

/** Follows a promise's outcome without leaving a rejection unhandled. */
function track(p: Promise<Admission<string>>): Tracked {
  const t: Tracked = { state: "pending" };
  p.then(
    (value) => Object.assign(t, { state: "resolved", value }),
    (error: QueueError) => Object.assign(t, { state: "rejected", error }),
  );
  return t;
}

/** Lets settled promises run their callbacks (microtasks only, no timers). */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

function harness(over: Partial<AdmissionQueueOptions<string, string>> = {}) {
  const clock = new ManualClock();
  let free = 0;
  const queue = new AdmissionQueue<string, string>({
    maxSize: 512,
    agingMs: 10_000,
    clock,
    place: () => (free > 0 ? (free--, "gpu0") : undefined),
    ...over,
  });
  const rejected: QueueRejectedEvent[] = [];
  queue.events.on("rejected", (e) => rejected.push(e));
  const add = (
    opts: { model?: string; priority?: Priority; timeoutMs?: number; signal?: AbortSignal } = {},
  ) =>
    track(
      queue.enqueue({
        model: opts.model ?? "m",
        priority: opts.priority ?? "normal",
        item: "req",
        timeoutMs: opts.timeoutMs ?? 30_000,
        signal: opts.signal,
      }),
    );
  const setFree = (n: number) => void (free = n);
  return { clock, queue, rejected, add, setFree };
}

describe("AdmissionQueue limits", () => {
  it("rejects at once with queue_full and the numbers when maxSize requests wait", async () => {
    const { queue, rejected, add } = harness({ maxSize: 3 });
    add();
    add();
    add();
    const over = add({ model: "qwen", priority: "high" });
    await flush();
    assert.equal(over.state, "rejected");
    assert.ok(over.error instanceof QueueError);
    assert.equal(over.error.code, "queue_full");
    assert.equal(over.error.message, "queue full: 3/3 waiting");
    assert.equal(over.error.model, "qwen");
    assert.equal(over.error.priority, "high");
    assert.equal(queue.depth, 3);
    assert.equal(queue.stats().rejectedTotal.queue_full, 1);
    assert.deepEqual(rejected, [
      {
        id: 4,
        model: "qwen",
        priority: "high",
        reason: "queue_full",
        waitedMs: 0,
        depth: 3,
        message: "queue full: 3/3 waiting",
      },
    ]);
  });

  it("rejects a waiter with queue_timeout and its position when it waited timeoutMs", async () => {
    const { clock, queue, rejected, add } = harness();
    add({ priority: "high", timeoutMs: 60_000 });
    add({ priority: "high", timeoutMs: 60_000 });
    const mine = add({ priority: "normal", timeoutMs: 30_000 });
    add({ priority: "low", timeoutMs: 60_000 });
    clock.advance(29_999);
    await flush();
    assert.equal(mine.state, "pending");
    clock.advance(1);
    await flush();
    assert.equal(mine.state, "rejected");
    assert.equal(mine.error?.code, "queue_timeout");
    assert.equal(mine.error?.message, "waited 30000 ms in queue (position 3 of 4)");
    assert.equal(mine.error?.waitedMs, 30_000);
    assert.equal(queue.depth, 3);
    assert.equal(rejected[0]?.reason, "queue_timeout");
    assert.equal(rejected[0]?.depth, 3);
    assert.equal(queue.stats().rejectedTotal.queue_timeout, 1);
  });

  it("does not place a waiter whose time is up even if its timer has not fired yet", async () => {
    const clock = new ManualClock();
    // A clock whose timers run late (a busy event loop): the pump must still respect the deadline.
    const queue = new AdmissionQueue<string, string>({
      maxSize: 4,
      agingMs: 1_000,
      clock: { now: clock.now, setTimeout: () => "late", clearTimeout: () => {} },
      place: () => "gpu0",
    });
    const late = track(queue.enqueue({ model: "m", priority: "normal", item: "x", timeoutMs: 100 }));
    const onTime = track(queue.enqueue({ model: "m", priority: "low", item: "y", timeoutMs: 200 }));
    clock.advance(100);
    assert.equal(queue.pump(), 1);
    assert.equal(late.state, "pending");
    assert.equal(queue.depth, 1);
    await flush();
    assert.equal(onTime.state, "resolved");
  });

  it("removes a waiter at once when its client aborts, and clears its timer", async () => {
    const { clock, queue, rejected, add } = harness();
    const controller = new AbortController();
    add();
    const leaving = add({ signal: controller.signal });
    add();
    assert.equal(queue.depth, 3);
    assert.equal(clock.pendingTimers, 3);
    clock.advance(700);
    controller.abort();
    assert.equal(queue.depth, 2, "gone synchronously, not at the next pump");
    assert.equal(clock.pendingTimers, 2);
    await flush();
    assert.equal(leaving.state, "rejected");
    assert.equal(leaving.error?.code, "aborted");
    assert.equal(leaving.error?.message, "client left after 700 ms in queue");
    assert.deepEqual(
      rejected.map((e) => [e.reason, e.waitedMs, e.depth]),
      [["aborted", 700, 2]],
    );
    assert.equal(queue.stats().rejectedTotal.aborted, 1);
  });

  it("rejects a request whose client already left without queueing it", async () => {
    const { queue, add } = harness();
    const controller = new AbortController();
    controller.abort();
    const t = add({ signal: controller.signal });
    await flush();
    assert.equal(t.error?.code, "aborted");
    assert.equal(queue.depth, 0);
    assert.equal(queue.stats().enqueuedTotal, 0);
  });

  it("after placement an abort and the timeout no longer touch the request", async () => {
    const { clock, queue, rejected, add, setFree } = harness();
    const controller = new AbortController();
    const t = add({ signal: controller.signal, timeoutMs: 1_000 });
    setFree(1);
    queue.pump();
    assert.equal(clock.pendingTimers, 0);
    controller.abort();
    clock.advance(5_000);
    await flush();
    assert.deepEqual(t, { state: "resolved", value: { placement: "gpu0", waitedMs: 0 } });
    assert.deepEqual(rejected, []);
  });

  it("rejects a timeout of zero at once", async () => {
    const { queue, add } = harness();
    const t = add({ timeoutMs: 0 });
    await flush();
    assert.equal(t.error?.code, "queue_timeout");
    assert.equal(queue.depth, 0);
  });

  it("close() rejects every waiter with closed, clears all timers and refuses new requests", async () => {
    const { clock, queue, rejected, add, setFree } = harness();
    const waiting = [add({ priority: "low" }), add({ model: "x" }), add({ priority: "high" })];
    clock.advance(250);
    queue.close();
    await flush();
    assert.deepEqual(
      waiting.map((w) => [w.error?.code, w.error?.message]),
      waiting.map(() => ["closed", "admission queue closed after 250 ms in queue"]),
    );
    assert.equal(queue.depth, 0);
    assert.equal(clock.pendingTimers, 0);
    const late = add();
    setFree(10);
    assert.equal(queue.pump(), 0);
    await flush();
    assert.equal(late.error?.code, "closed");
    assert.equal(queue.stats().rejectedTotal.closed, 4);
    assert.equal(rejected.length, 4);
    queue.close();
  });

  it("reports depth by model and priority, totals and the oldest wait in stats", () => {
    const { clock, queue, add, setFree } = harness({ maxSize: 8 });
    add({ model: "llama3", priority: "high" });
    clock.advance(1_000);
    add({ model: "llama3", priority: "low" });
    add({ model: "qwen", priority: "normal" });
    add({ model: "qwen", priority: "normal" });
    clock.advance(2_000);
    assert.deepEqual(queue.stats(), {
      depth: 4,
      capacity: 8,
      byModel: {
        llama3: { high: 1, normal: 0, low: 1 },
        qwen: { high: 0, normal: 2, low: 0 },
      },
      enqueuedTotal: 4,
      rejectedTotal: { queue_full: 0, queue_timeout: 0, aborted: 0, closed: 0 },
      oldestWaitMs: 3_000,
    });
    assert.equal(queue.depthFor("qwen"), 2);
    assert.equal(queue.depthFor("none"), 0);
    setFree(1);
    queue.pump();
    assert.equal(queue.stats().oldestWaitMs, 2_000);
    setFree(10);
    queue.pump();
    assert.deepEqual(queue.stats().byModel, {});
    assert.equal(queue.stats().oldestWaitMs, 0);
  });

  it("emits enqueued and dequeued with model, priority, wait and depth", () => {
    const { clock, queue, add, setFree } = harness();
    const log: unknown[] = [];
    queue.events.on("enqueued", (e) => log.push(["enqueued", e]));
    queue.events.on("dequeued", (e) => log.push(["dequeued", e]));
    add({ model: "a", priority: "low" });
    add({ model: "b", priority: "high" });
    clock.advance(400);
    setFree(2);
    queue.pump();
    assert.deepEqual(log, [
      ["enqueued", { id: 1, model: "a", priority: "low", depth: 1 }],
      ["enqueued", { id: 2, model: "b", priority: "high", depth: 2 }],
      [
        "dequeued",
        {
          id: 2,
          model: "b",
          priority: "high",
          effectivePriority: "high",
          waitedMs: 400,
          depth: 1,
          placement: "gpu0",
        },
      ],
      [
        "dequeued",
        {
          id: 1,
          model: "a",
          priority: "low",
          effectivePriority: "low",
          waitedMs: 400,
          depth: 0,
          placement: "gpu0",
        },
      ],
    ]);
  });

  it("rejects bad settings", () => {
    assert.throws(() => harness({ maxSize: -1 }), /maxSize must be an integer >= 0/);
    assert.throws(() => harness({ agingMs: 0 }), /agingMs must be > 0/);
  });
});
