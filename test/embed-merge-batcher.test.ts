// The adaptive window of embedding merging, on a manual clock: idle → no delay; busy → merged.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmbedBatcher } from "../src/http/embed-merge-batcher.js";
import { ManualClock } from "./helpers/manual-clock.js";

interface Req {
  name: string;
  inputs: number;
}

/** A batcher whose dispatched batches stay in flight until the test finishes them. */
function setup(options: { lanes?: number; maxInputs?: number; maxWaitMs?: number } = {}) {
  const clock = new ManualClock();
  const sent: { key: string; names: string[]; atMs: number; finish: () => Promise<void> }[] = [];
  const batcher = new EmbedBatcher<Req>({
    clock,
    maxInputs: options.maxInputs ?? 100,
    maxWaitMs: options.maxWaitMs ?? 50,
    lanes: () => options.lanes ?? 1,
    inputsOf: (r) => r.inputs,
    dispatch: (key, batch) =>
      new Promise<void>((resolve) => {
        sent.push({
          key,
          names: batch.map((r) => r.name),
          atMs: clock.now(),
          // Resolving settles the dispatch; the batcher reacts in a microtask.
          finish: async () => {
            resolve();
            await new Promise((r) => setImmediate(r));
          },
        });
      }),
  });
  const req = (name: string, inputs = 1): Req => ({ name, inputs });
  return { clock, sent, batcher, req };
}

describe("embedding merge batcher", () => {
  it("sends a request at once when its group has a free lane, so an idle gateway adds no delay", () => {
    const { batcher, sent, req, clock } = setup();
    batcher.add("m", req("a"));
    assert.deepEqual(
      sent.map((s) => [s.names, s.atMs]),
      [[["a"], 0]],
    );
    assert.equal(clock.pendingTimers, 0);
  });

  it("collects arrivals while every lane is busy and sends them as one batch when a lane frees", async () => {
    const { batcher, sent, req, clock } = setup({ lanes: 1 });
    batcher.add("m", req("a"));
    clock.advance(5);
    batcher.add("m", req("b"));
    batcher.add("m", req("c", 3));
    assert.equal(sent.length, 1, "b and c wait for the busy lane");
    clock.advance(10);
    await sent[0]!.finish();
    assert.deepEqual(sent[1]?.names, ["b", "c"]);
    assert.equal(sent[1]?.atMs, 15);
    assert.deepEqual(batcher.stats(), { soloBatches: 1, mergedBatches: 1, mergedMembers: 2, waiting: 0 });
    assert.equal(clock.pendingTimers, 0, "the wait timer is cleared when the batch leaves early");
  });

  it("uses every lane before collecting: with two instances the first two requests go alone", () => {
    const { batcher, sent, req } = setup({ lanes: 2 });
    for (const name of ["a", "b", "c", "d"]) batcher.add("m", req(name));
    assert.deepEqual(
      sent.map((s) => s.names),
      [["a"], ["b"]],
    );
    assert.equal(batcher.stats().waiting, 2);
  });

  it("sends a waiting batch once its oldest request has waited the longest allowed wait", () => {
    const { batcher, sent, req, clock } = setup({ lanes: 1, maxWaitMs: 50 });
    batcher.add("m", req("a"));
    clock.advance(10);
    batcher.add("m", req("b"));
    clock.advance(30);
    batcher.add("m", req("c"));
    clock.advance(19);
    assert.equal(sent.length, 1);
    clock.advance(1);
    assert.deepEqual(sent[1]?.names, ["b", "c"]);
    assert.equal(sent[1]?.atMs, 60, "50 ms after b arrived, although the lane is still busy");
  });

  it("sends a batch as soon as it reaches the input limit, and caps every batch at that limit", () => {
    const { batcher, sent, req } = setup({ lanes: 1, maxInputs: 4 });
    batcher.add("m", req("a"));
    batcher.add("m", req("b", 2));
    batcher.add("m", req("c", 1));
    assert.equal(sent.length, 1, "3 inputs wait");
    batcher.add("m", req("d", 3));
    assert.deepEqual(sent[1]?.names, ["b", "c"], "b+c+d would exceed 4 inputs: b and c go now");
    assert.equal(batcher.stats().waiting, 1);
    batcher.add("m", req("e", 9));
    assert.deepEqual(sent[2]?.names, ["d"]);
    assert.deepEqual(sent[3]?.names, ["e"], "a request larger than the limit still goes, alone");
  });

  it("never puts requests of different models or settings in one batch", async () => {
    const { batcher, sent, req } = setup({ lanes: 1 });
    batcher.add("m1", req("a"));
    batcher.add("m2", req("b"));
    batcher.add("m1", req("c"));
    batcher.add("m2", req("d"));
    assert.deepEqual(
      sent.map((s) => [s.key, s.names]),
      [
        ["m1", ["a"]],
        ["m2", ["b"]],
      ],
    );
    await sent[1]!.finish();
    assert.deepEqual([sent[2]?.key, sent[2]?.names], ["m2", ["d"]], "d goes when m2's lane frees");
  });

  it("drops a request withdrawn before its batch leaves, and says when it was too late", async () => {
    const { batcher, sent, req, clock } = setup({ lanes: 1 });
    const a = req("a");
    const b = req("b");
    batcher.add("m", a);
    batcher.add("m", b);
    assert.equal(batcher.remove("m", b), true);
    assert.equal(batcher.remove("m", a), false, "a is already upstream");
    assert.equal(clock.pendingTimers, 0, "nothing left to wait for");
    await sent[0]!.finish();
    assert.equal(sent.length, 1);
  });

  it("sends what still waits on close and leaves no timer behind", () => {
    const { batcher, sent, req, clock } = setup({ lanes: 1 });
    batcher.add("m", req("a"));
    batcher.add("m", req("b"));
    batcher.add("m", req("c"));
    batcher.close();
    assert.deepEqual(sent[1]?.names, ["b", "c"]);
    assert.equal(clock.pendingTimers, 0);
  });
});
