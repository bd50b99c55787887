import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  gpuMsPerRequest,
  oracleBound,
  oracleGoodput,
  oracleRequests,
  perfectReuse,
  type OracleRequest,
} from "../bench/oracle.js";
import { linePlotSvg, niceTicks } from "../bench/plot-svg.js";
import {
  latencyOf,
  meanOpenSessions,
  percentiles,
  quantile,
  summariseRecords,
  type SuiteRecord,
} from "../bench/suite-metrics.js";
import {
  generateSessions,
  pickWeighted,
  suiteWorkload,
  zipfWeights,
  type SuiteFleet,
} from "../bench/workloads/suite-workloads.js";
import { mulberry32 } from "../src/util/prng.js";

const req = (prompt: number[], answer: number[] = []): OracleRequest => ({
  model: "m",
  prompt,
  outputTokens: answer.length,
  answer,
});

describe("suite workload generators", () => {
  it("give the same sessions for the same seed and different ones for another seed", () => {
    for (const id of ["multi-turn", "shared-prefix", "no-sharing", "zipf-mix"]) {
      const w = suiteWorkload(id);
      assert.deepEqual(generateSessions(w, 2, 60, 7), generateSessions(w, 2, 60, 7));
      assert.notDeepEqual(generateSessions(w, 2, 60, 7), generateSessions(w, 2, 60, 8));
    }
  });

  it("send turns at the requested rate on average (Poisson session starts)", () => {
    const w = suiteWorkload("multi-turn");
    const sessions = generateSessions(w, 3, 4000, 1);
    const turns = sessions.reduce((n, s) => n + s.turns.length, 0);
    assert.ok(Math.abs(turns / 4000 - 3) < 0.3, `${turns / 4000} turns per second`);
    assert.ok(sessions.every((s) => s.turns.length >= w.turns[0] && s.turns.length <= w.turns[1]));
    assert.ok(sessions.every((s, i) => i === 0 || s.startMs >= sessions[i - 1]!.startMs));
  });

  it("give multi-turn sessions of one group the same system prompt start and each its own document", () => {
    const sessions = generateSessions(suiteWorkload("multi-turn"), 2, 200, 3);
    const byGroup = new Map<string, string[]>();
    for (const s of sessions) {
      const [preamble, doc] = s.system.split("\n");
      byGroup.set(preamble!, [...(byGroup.get(preamble!) ?? []), doc!]);
    }
    assert.ok(byGroup.size > 1 && byGroup.size <= 4);
    const docs = [...byGroup.values()].flat();
    assert.equal(new Set(docs).size, docs.length);
  });

  it("draw models with Zipf frequencies", () => {
    const weights = zipfWeights(4, 1.1);
    assert.deepEqual(
      weights.map((x) => Number(x.toFixed(4))),
      [1, 0.4665, 0.2987, 0.2176],
    );
    const random = mulberry32(5);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[pickWeighted(weights, random())]!++;
    const total = weights.reduce((a, b) => a + b, 0);
    counts.forEach((c, k) =>
      assert.ok(Math.abs(c / 40_000 - weights[k]! / total) < 0.01, `model ${k}: ${c}`),
    );
  });
});

describe("suite oracle", () => {
  it("reuses the longest prefix of anything computed before, answers included, but always evaluates the last token", () => {
    const { computed, reused } = perfectReuse([
      req([1, 2, 3, 4], [8, 9]),
      req([1, 2, 3, 5]),
      req([1, 2, 3, 4]),
      req([1, 2, 3, 4, 8, 9, 7]),
      req([6]),
    ]);
    assert.deepEqual(reused, [0, 3, 3, 6, 0]);
    assert.deepEqual(computed, [4, 1, 1, 1, 1]);
  });

  it("counts a multi-turn session's history as reused from its previous turn and answer", () => {
    const sessions = generateSessions(suiteWorkload("multi-turn"), 1, 30, 2).slice(0, 1);
    const requests = oracleRequests(sessions);
    const { reused } = perfectReuse(requests);
    for (let t = 1; t < requests.length; t++) {
      const before = requests[t - 1]!;
      assert.equal(reused[t], before.prompt.length + before.answer.length);
    }
  });

  it("prices a request at its prefill plus its share of full-batch decode steps", () => {
    const s = { prefillPerMs: 3, decodePerMs: 0.1, parallel: 4 };
    // 300 tokens / 3 per ms = 100 ms; 10 tokens × (1 + 0.15·3) / 4 / 0.1 per ms = 36.25 ms.
    assert.ok(Math.abs(gpuMsPerRequest(s, 300, 10) - 136.25) < 1e-9);
  });

  it("sums one capacity per GPU and caps goodput at it", () => {
    const fleet: SuiteFleet = {
      id: "t",
      numCtx: 4096,
      gpus: [0, 1].map(() => ({
        name: "RTX 3060",
        vramGb: 12,
        parallel: 2,
        models: [{ name: "m", sizeGb: 4, paramsB: 7 }],
      })),
    };
    const requests = [req([1, 2, 3], [4, 5]), req([9, 8, 7, 6], [1])];
    const one = oracleBound({ ...fleet, gpus: fleet.gpus.slice(0, 1) }, requests, { ttftSec: 10, itlSec: 1 });
    const two = oracleBound(fleet, requests, { ttftSec: 10, itlSec: 1 });
    assert.ok(Math.abs(two.capacityRps - 2 * one.capacityRps) < 1e-9);
    assert.equal(two.sloAttainable, 1);
    assert.equal(oracleGoodput(two, two.capacityRps * 2), two.capacityRps);
    assert.equal(oracleGoodput(two, 0.5), 0.5);
    assert.equal(two.computedTokens + two.reusedTokens, 7);
  });
});

describe("suite metrics", () => {
  it("takes nearest-rank percentiles", () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.deepEqual(percentiles(xs), { p50: 50, p90: 90, p99: 99 });
    assert.equal(quantile([], 0.5), NaN);
    assert.equal(quantile([3], 0.99), 3);
  });

  it("counts goodput only for answers inside the window that meet the SLO", () => {
    const rec = (sentMs: number, firstMs: number, endMs: number, outputTokens: number): SuiteRecord => ({
      session: 0,
      turn: 0,
      sentMs,
      firstMs,
      endMs,
      outputTokens,
      promptTokens: 10,
      outcome: "ok",
    });
    const records: SuiteRecord[] = [
      rec(0, 10, 50, 5), // ends in the warm-up: not counted
      rec(300, 310, 400, 10), // TTFT 0.1 s, ITL 0.1 s (time scale 10): meets
      rec(500, 900, 950, 2), // TTFT 4 s: misses
      rec(600, 650, 2000, 2), // ends after the window
      { ...rec(700, 0, 0, 0), firstMs: undefined, endMs: undefined, outcome: "cut" },
    ];
    const s = summariseRecords(records, {
      timeScale: 10,
      windowMs: 1000,
      warmupShare: 0.2,
      slo: { ttftSec: 3, itlSec: 0.15 },
    });
    // Measured span: 800 wall ms × 10 = 8 emulated s; 2 answers end inside it, 1 meets the SLO.
    assert.equal(s.completedRps, 2 / 8);
    assert.equal(s.goodputRps, 1 / 8);
    assert.equal(s.cut, 1);
    assert.equal(s.measured, 4);
    assert.deepEqual(latencyOf(records[1]!, 10), { ttftSec: 0.1, itlSec: 0.1, e2eSec: 1 });
  });
});

describe("suite open sessions", () => {
  it("average how many sessions were open at once over the run (Little's law)", () => {
    const r = (session: number, sentMs: number, endMs: number): SuiteRecord => ({
      session,
      turn: 0,
      sentMs,
      endMs,
      outputTokens: 1,
      promptTokens: 1,
      outcome: "ok",
    });
    // Session 0 is open 0–100 ms, session 1 50–90 ms (two turns each): 140 session-ms over a 100 ms run.
    assert.equal(meanOpenSessions([r(0, 0, 40), r(0, 60, 100), r(1, 50, 70), r(1, 80, 90)]), 1.4);
  });
});

describe("suite plots", () => {
  it("draw round ticks and one line per series", () => {
    assert.deepEqual(niceTicks(0, 10), [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(niceTicks(30, 110, 4), [40, 60, 80, 100]);
    const svg = linePlotSvg({
      title: "t <1>",
      xLabel: "x",
      yLabel: "y",
      logY: true,
      series: [
        {
          name: "a",
          points: [
            [1, 1],
            [2, 10],
            [3, NaN],
          ],
        },
        {
          name: "b",
          points: [
            [1, 0.5],
            [2, 100],
          ],
        },
      ],
    });
    assert.match(svg, /^<svg /);
    assert.equal(svg.match(/<polyline /g)?.length, 2);
    assert.equal(svg.match(/<circle /g)?.length, 4);
    assert.ok(svg.includes("t &lt;1&gt;"));
  });
});
