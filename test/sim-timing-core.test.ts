/** The emulator's GPU timing core, driven by a manual clock: loads, eviction, slots, batching, prompt cache. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { modelSpecFor } from "../src/sim/catalog.js";
import { ManualClock } from "../src/sim/clock.js";
import { GpuScheduler } from "../src/sim/gpu-scheduler.js";
import type { JobResult, JobSpec } from "../src/sim/scheduler-types.js";
import { DEFAULT_PERF, decodeTokensPerMs, loadTimeMs, memoryRequired } from "../src/sim/perf-model.js";
import { StatsCollector } from "../src/sim/sim-stats.js";
import { SimError, type EvictionPolicy, type GpuSpec, type ModelSpec } from "../src/sim/types.js";

const GIB = 1024 ** 3;
const gpu: GpuSpec = { name: "test", memoryBytes: 8 * GIB, bandwidthBytesPerSec: 448e9, cpuOnly: false };
const small = modelSpecFor("llama3.2:1b"); // 1.32 GB
const mid = modelSpecFor("qwen2.5:3b"); // 1.93 GB
const big = modelSpecFor("llama3.1:8b"); // 4.92 GB
const huge = modelSpecFor("llama3.1:70b"); // 42.5 GB

interface Harness {
  clock: ManualClock;
  sched: GpuScheduler;
  stats: StatsCollector;
  run(spec: Partial<JobSpec> & { model: ModelSpec }): Run;
}

interface Run {
  result?: JobResult;
  error?: SimError;
  tokens: number[];
  tokenTimes: number[];
  cancel(): void;
}

function harness(
  over: {
    numParallel?: number;
    maxLoadedModels?: number;
    maxQueue?: number;
    keepAliveMs?: number;
    policy?: EvictionPolicy;
    memoryBytes?: number;
  } = {},
): Harness {
  const clock = new ManualClock();
  const stats = new StatsCollector("t", 1);
  const sched = new GpuScheduler(
    clock,
    {
      gpu: { ...gpu, memoryBytes: over.memoryBytes ?? gpu.memoryBytes },
      perf: DEFAULT_PERF,
      numParallel: over.numParallel ?? 1,
      maxLoadedModels: over.maxLoadedModels ?? 0,
      maxQueue: over.maxQueue ?? 512,
      defaultKeepAliveMs: over.keepAliveMs ?? 300_000,
      evictionPolicy: over.policy ?? "ollama",
    },
    stats,
  );
  return {
    clock,
    sched,
    stats,
    run(spec) {
      const run: Run = { tokens: [], tokenTimes: [], cancel: () => {} };
      const job = sched.submit(
        { numCtx: 2048, sequences: [], ...spec },
        {
          onToken: (_s, i) => {
            run.tokens.push(i);
            run.tokenTimes.push(clock.now());
          },
          onDone: (r) => void (run.result = r),
          onError: (e) => void (run.error = e),
        },
      );
      run.cancel = () => job.cancel();
      return run;
    },
  };
}

function seq(
  prompt: number[],
  output = 4,
): { promptTokens: number[]; outputTokens: number[]; usePromptCache: boolean } {
  return {
    promptTokens: prompt,
    outputTokens: Array.from({ length: output }, (_, i) => 1000 + i),
    usePromptCache: true,
  };
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);
const loadedNames = (h: Harness): string[] =>
  h.sched
    .runnerInfos()
    .map((r) => r.model.name)
    .sort();

describe("the GPU timing core", () => {
  it("loads a model before its first request and reports the load as load time", () => {
    const h = harness();
    const r = h.run({ model: small, sequences: [seq(range(10), 3)] });
    assert.equal(r.result, undefined);
    assert.equal(h.sched.runnerInfos()[0]?.state, "loading");
    h.clock.runUntilIdle(10_000);
    const expected = loadTimeMs(small, DEFAULT_PERF);
    assert.ok(Math.abs(r.result!.loadMs - expected) < 1e-6, `load ${r.result!.loadMs} vs ${expected}`);
    assert.equal(r.result!.sequences[0]!.evalCount, 3);
    assert.ok(r.result!.totalMs > expected);
    const again = h.run({ model: small, sequences: [seq(range(10, 500), 3)] });
    h.clock.runUntilIdle(10_000);
    assert.equal(again.result!.loadMs, 0, "a loaded model needs no load");
    assert.equal(h.stats.snapshot(h.sched, []).loads, 1);
  });

  it("decodes one sequence at bandwidth × efficiency ÷ model size", () => {
    const h = harness();
    const r = h.run({ model: big, sequences: [seq(range(5), 50)] });
    h.clock.runUntilIdle(60_000);
    const perToken = 1 / decodeTokensPerMs(big, gpu, DEFAULT_PERF);
    const eval_ = r.result!.sequences[0]!;
    assert.ok(Math.abs(eval_.evalMs - 50 * perToken) < 1e-6, `eval ${eval_.evalMs} vs ${50 * perToken}`);
    const gaps = r.tokenTimes.slice(1).map((t, i) => t - r.tokenTimes[i]!);
    for (const g of gaps) assert.ok(Math.abs(g - perToken) < 1e-6);
  });

  it("unloads the idle model Ollama would pick (shortest keep-alive, then name) to fit a new one", () => {
    const h = harness({ memoryBytes: 5 * GIB });
    h.run({ model: small, keepAliveMs: 600_000, sequences: [seq(range(4), 1)] });
    h.clock.runUntilIdle(10_000);
    h.run({ model: mid, keepAliveMs: 60_000, sequences: [seq(range(4), 1)] });
    h.clock.runUntilIdle(10_000);
    assert.deepEqual(loadedNames(h), ["llama3.2:1b", "qwen2.5:3b"]);
    h.run({ model: big, sequences: [seq(range(4), 1)] }); // 4.9 GB + KV: both must go
    h.clock.runUntilIdle(20_000);
    assert.deepEqual(loadedNames(h), ["llama3.1:8b"]);
    const s = h.stats.snapshot(h.sched, []);
    assert.equal(s.evictions, 2);
  });

  it("evicts by Ollama's order (keep-alive, then name) by default, or the least recently used with lru", () => {
    const gemma = modelSpecFor("gemma2:2b");
    const pair = memoryRequired(gemma, 2048, 1) + memoryRequired(mid, 2048, 1);
    assert.ok(
      pair <= 4.5 * GIB && pair + memoryRequired(small, 2048, 1) > 4.5 * GIB,
      "two fit, three do not",
    );
    const survivor = (policy: EvictionPolicy): string[] => {
      const h = harness({ memoryBytes: 4.5 * GIB, policy });
      h.run({ model: small, sequences: [seq(range(4), 1)] });
      h.clock.runUntilIdle(10_000);
      h.run({ model: mid, sequences: [seq(range(4), 1)] });
      h.clock.runUntilIdle(10_000);
      h.clock.advance(1000);
      h.run({ model: small, sequences: [seq(range(4, 100), 1)] }); // small is now the most recent
      h.clock.runUntilIdle(10_000);
      h.run({ model: gemma, sequences: [seq(range(4), 1)] });
      h.clock.runUntilIdle(10_000);
      return loadedNames(h);
    };
    // Same keep-alive: Ollama sorts by model path, and llama3.2:1b's digest sorts first.
    assert.deepEqual(survivor("ollama"), ["gemma2:2b", "qwen2.5:3b"]);
    assert.deepEqual(survivor("lru"), ["gemma2:2b", "llama3.2:1b"]);
  });

  it("waits for a busy model to finish before evicting it, holding the queue meanwhile", () => {
    const h = harness({ memoryBytes: 5 * GIB });
    const first = h.run({ model: mid, sequences: [seq(range(4), 200)] });
    h.clock.advance(loadTimeMs(mid, DEFAULT_PERF) + 10); // loaded and decoding
    const second = h.run({ model: big, sequences: [seq(range(4), 2)] });
    h.clock.advance(100);
    assert.equal(second.result, undefined);
    assert.equal(h.sched.queued, 1, "the big model waits for the busy one");
    assert.deepEqual(loadedNames(h), ["qwen2.5:3b"]);
    h.clock.runUntilIdle(60_000);
    assert.equal(first.result!.sequences[0]!.evalCount, 200, "the busy model finished its request");
    assert.ok(second.result, "then the new model loaded and answered");
    assert.deepEqual(loadedNames(h), ["llama3.1:8b"]);
  });

  it("fails a model larger than the GPU with Ollama's out-of-memory error", () => {
    const h = harness();
    const r = h.run({ model: huge, sequences: [seq(range(4), 1)] });
    assert.equal(r.error?.status, 500);
    assert.match(
      r.error!.message,
      /^model requires more system memory \(\d+\.\d GiB\) than is available \(8\.0 GiB\)$/,
    );
    assert.equal(h.sched.runnerInfos().length, 0);
  });

  it("holds at most max-loaded models, unloading one for the next", () => {
    const h = harness({ maxLoadedModels: 1 });
    h.run({ model: small, sequences: [seq(range(4), 1)] });
    h.clock.runUntilIdle(10_000);
    h.run({ model: mid, sequences: [seq(range(4), 1)] });
    h.clock.runUntilIdle(10_000);
    assert.deepEqual(loadedNames(h), ["qwen2.5:3b"]);
  });

  it("reloads a model asked for with a different num_ctx", () => {
    const h = harness();
    h.run({ model: small, numCtx: 2048, sequences: [seq(range(4), 1)] });
    h.clock.runUntilIdle(10_000);
    const r = h.run({ model: small, numCtx: 8192, sequences: [seq(range(4), 1)] });
    h.clock.runUntilIdle(10_000);
    assert.ok(r.result!.loadMs > 0);
    assert.equal(h.sched.runnerInfos()[0]?.numCtx, 8192);
    assert.equal(h.stats.snapshot(h.sched, []).loads, 2);
  });

  it("queues requests beyond the parallel slots and serves them first in, first out", () => {
    const h = harness({ numParallel: 2 });
    const runs = [0, 1, 2, 3].map((i) => h.run({ model: small, sequences: [seq(range(4, i * 100), 20)] }));
    h.clock.advance(loadTimeMs(small, DEFAULT_PERF) + 1);
    const info = h.sched.runnerInfos()[0]!;
    assert.equal(info.active, 2);
    assert.equal(info.waiting, 2);
    h.clock.runUntilIdle(60_000);
    const ends = runs.map((r) => r.result!.totalMs);
    assert.ok(ends[2]! > ends[0]! && ends[2]! > ends[1]!, "the third waited for a slot");
    assert.ok(ends[3]! >= ends[2]! - 1e-9);
  });

  it("slows each sequence as the batch grows while total throughput rises sublinearly", () => {
    const perSeq = (n: number): number => {
      const h = harness({ numParallel: n });
      const runs = range(n).map((i) => h.run({ model: small, sequences: [seq([i + 1], 100)] }));
      h.clock.runUntilIdle(600_000);
      return 100 / runs[0]!.result!.sequences[0]!.evalMs;
    };
    const one = perSeq(1);
    const four = perSeq(4);
    assert.ok(Math.abs(four - one / (1 + 0.15 * 3)) / one < 1e-6, `per-seq ${four} vs ${one}`);
    assert.ok(4 * four > one * 2, "the batch as a whole is faster");
    assert.ok(4 * four < one * 4, "but not 4× faster");
  });

  it("reuses the longest cached prompt prefix so only the new tokens are prefilled", () => {
    const h = harness({ numParallel: 2 });
    const system = range(1000, 1);
    const first = h.run({ model: small, sequences: [seq([...system, 5001, 5002], 3)] });
    h.clock.runUntilIdle(60_000);
    const second = h.run({ model: small, sequences: [seq([...system, 6001, 6002, 6003], 3)] });
    h.clock.runUntilIdle(60_000);
    const a = first.result!.sequences[0]!;
    const b = second.result!.sequences[0]!;
    assert.equal(a.cachedTokens, 0);
    assert.equal(b.cachedTokens, 1000);
    assert.equal(b.promptEvalCount, 1003, "prompt_eval_count still counts every prompt token");
    assert.ok(
      b.promptEvalMs < a.promptEvalMs / 100,
      `cached prefill ${b.promptEvalMs} vs cold ${a.promptEvalMs}`,
    );
    const s = h.stats.snapshot(h.sched, []);
    assert.equal(s.prefillTokensReused, 1000);
    assert.equal(s.prefillTokensComputed, 1002 + 3);
  });

  it("continues a conversation in the slot that holds it, even when another slot is free", () => {
    const h = harness({ numParallel: 2 });
    const convA = range(300, 1);
    const convB = range(300, 10_000);
    h.run({ model: small, sequences: [seq(convA, 5)] });
    h.run({ model: small, sequences: [seq(convB, 5)] });
    h.clock.runUntilIdle(60_000);
    const next = h.run({ model: small, sequences: [seq([...convA, ...range(5, 1000), 77], 2)] });
    h.clock.runUntilIdle(60_000);
    assert.equal(next.result!.sequences[0]!.cachedTokens, 305, "prompt plus the answer it generated");
  });

  it("a new conversation sharing only a short prefix forks it into the oldest slot, keeping the other cache", () => {
    const h = harness({ numParallel: 2 });
    const convA = [1, 2, 3, ...range(300, 100)];
    h.run({ model: small, sequences: [seq(convA, 5)] });
    h.clock.runUntilIdle(60_000);
    // Shares the 3-token header with A: Ollama copies those 3 into the free slot instead of overwriting A.
    const convB = h.run({ model: small, sequences: [seq([1, 2, 3, ...range(300, 50_000)], 5)] });
    h.clock.runUntilIdle(60_000);
    assert.equal(convB.result!.sequences[0]!.cachedTokens, 3);
    const backToA = h.run({ model: small, sequences: [seq([...convA, ...range(5, 1000), 9], 2)] });
    h.clock.runUntilIdle(60_000);
    assert.equal(backToA.result!.sequences[0]!.cachedTokens, 308, "A's slot survived B");
  });

  it("unloads an idle model when its keep_alive runs out, and at once with keep_alive 0", () => {
    const h = harness();
    h.run({ model: small, keepAliveMs: 5000, sequences: [seq(range(4), 1)] });
    h.clock.runUntilIdle(3000);
    assert.equal(h.sched.runnerInfos().length, 1);
    assert.ok(h.sched.runnerInfos()[0]!.expiresAt !== null);
    h.clock.advance(6000);
    assert.equal(h.sched.runnerInfos().length, 0);
    const r = h.run({ model: small, keepAliveMs: 0, sequences: [seq(range(4), 1)] });
    h.clock.runUntilIdle(10_000);
    assert.ok(r.result);
    assert.equal(h.sched.runnerInfos().length, 0, "keep_alive 0 unloads right after the request");
    h.run({ model: small, keepAliveMs: Infinity, sequences: [] });
    h.clock.runUntilIdle(10_000_000);
    assert.equal(h.sched.runnerInfos()[0]?.expiresAt, null, "keep_alive -1 keeps it forever");
  });

  it("answers 503 busy once max-queue requests wait for the scheduler", () => {
    const h = harness({ maxQueue: 2, memoryBytes: 5 * GIB });
    h.run({ model: mid, sequences: [seq(range(4), 500)] });
    h.clock.advance(loadTimeMs(mid, DEFAULT_PERF) + 10);
    h.run({ model: big, sequences: [seq(range(4), 1)] }); // blocks the queue behind the busy model
    h.run({ model: small, sequences: [seq(range(4), 1)] });
    assert.throws(
      () => h.run({ model: small, sequences: [seq(range(4), 1)] }),
      (e: unknown) =>
        e instanceof SimError &&
        e.status === 503 &&
        e.message === "server busy, please try again.  maximum pending requests exceeded",
    );
    // Requests for a loaded model queue on its slots without that limit.
    const h2 = harness({ maxQueue: 1 });
    h2.run({ model: small, sequences: [] });
    h2.clock.runUntilIdle(10_000);
    for (let i = 0; i < 10; i++) h2.run({ model: small, sequences: [seq(range(4), 50)] });
    assert.equal(h2.sched.runnerInfos()[0]!.waiting, 9);
  });

  it("frees the slot at once when a request is cancelled, for the next one to start", () => {
    const h = harness();
    h.run({ model: small, sequences: [] });
    h.clock.runUntilIdle(10_000);
    const long = h.run({ model: small, sequences: [seq(range(4), 100_000)] });
    const next = h.run({ model: small, sequences: [seq(range(4, 50), 2)] });
    h.clock.advance(50);
    assert.ok(long.tokens.length > 0);
    assert.equal(h.sched.runnerInfos()[0]!.waiting, 1);
    long.cancel();
    assert.equal(h.sched.runnerInfos()[0]!.active, 1, "the waiting request took the slot");
    h.clock.runUntilIdle(10_000);
    assert.ok(next.result);
    assert.equal(h.sched.runnerInfos()[0]!.refCount, 0);
  });

  it(
    "keeps making progress late in a long run, when model time is large and steps are tiny",
    { timeout: 5000 },
    () => {
      const h = harness({ numParallel: 128 });
      h.clock.advance(3.6e11); // an hour of wall time at time-scale 100000
      const tiny = modelSpecFor("tiny:latest", 0.1, 0.1);
      const runs = range(300).map((i) =>
        h.run({ model: tiny, sequences: [seq([i, i + 1, i + 2], 1 + (i % 7))] }),
      );
      h.clock.runUntilIdle(60_000);
      assert.ok(runs.every((r) => r.result !== undefined));
    },
  );

  it("shares the GPU between two models decoding at once", () => {
    const h = harness();
    const other = modelSpecFor("gemma2:2b", 1.32);
    h.run({ model: small, sequences: [] });
    h.run({ model: other, sequences: [] });
    h.clock.runUntilIdle(60_000);
    const a = h.run({ model: small, sequences: [seq([1], 100)] });
    h.clock.runUntilIdle(60_000);
    const alone = a.result!.sequences[0]!.evalMs;
    const b = h.run({ model: small, sequences: [seq([2], 100)] });
    const c = h.run({ model: other, sequences: [seq([3], 100)] });
    h.clock.runUntilIdle(60_000);
    for (const r of [b, c]) {
      const evalMs = r.result!.sequences[0]!.evalMs;
      assert.ok(evalMs > 1.9 * alone && evalMs < 2.1 * alone, `${evalMs} vs ${alone} alone`);
    }
  });
});
