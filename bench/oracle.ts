/**
 * The oracle bound of the benchmark suite: what the emulators' own timing model (src/sim/perf-model.ts,
 * docs/emulator.md) allows for a workload if routing were perfect.
 *
 * - Perfect prefix reuse: one global, unbounded KV cache. A prompt prefills only the tokens after its
 *   longest common prefix with anything computed before (an earlier prompt plus its answer), in arrival
 *   order; llama.cpp always evaluates the last prompt token, so the oracle does too.
 * - Perfect packing: every GPU always runs full decode batches (all `parallel` slots), the most efficient
 *   point of the model (n sequences together cost 1 + 0.15·(n − 1) steps), never loads a model, never idles.
 *
 * A request's GPU time is then prefill ÷ prefill rate + its answer's share of full-batch decode steps, and
 * the fleet's capacity is Σ over GPUs of 1 ÷ mean GPU time. No real router can beat either figure.
 */
import { modelSpecFor } from "../src/sim/catalog.js";
import { DEFAULT_PERF, decodeTokensPerMs, parseGpuSpec, prefillTokensPerMs } from "../src/sim/perf-model.js";
import { renderChat, tokenize, type TemplateMessage } from "../src/sim/text-model.js";
import { quantile } from "./suite-metrics.js";
import { gpuFlag } from "./workloads/routing-workloads.js";
import type { SuiteFleet, SuiteSession } from "./workloads/suite-workloads.js";

/** One request as the oracle sees it: its rendered prompt and the tokens it will generate. */
export interface OracleRequest {
  model: string;
  prompt: number[];
  outputTokens: number;
  /** Tokens the answer adds to the slot's cache (the placeholder answer's tokens). */
  answer: number[];
}

/**
 * The requests of a workload's sessions in arrival order (sessions by start, turns in order), rendered with
 * the emulator's own chat template and a placeholder answer of exactly `numPredict` tokens per turn: the
 * emulator always generates exactly num_predict tokens, so lengths and sharing match the real run.
 */
export function oracleRequests(sessions: SuiteSession[]): OracleRequest[] {
  const out: OracleRequest[] = [];
  for (const s of [...sessions].sort((a, b) => a.startMs - b.startMs)) {
    const messages: TemplateMessage[] = [{ role: "system", content: s.system }];
    s.turns.forEach((turn, k) => {
      messages.push({ role: "user", content: turn.user });
      const prompt = renderChat(messages).tokens;
      const answerText = Array.from({ length: turn.numPredict }, (_, i) => `a${s.index}.${k}.${i}`).join(" ");
      out.push({ model: s.model, prompt, outputTokens: turn.numPredict, answer: tokenize(answerText) });
      messages.push({ role: "assistant", content: answerText });
    });
  }
  return out;
}

/** Prefill tokens computed and reused by each request under perfect (global, unbounded) prefix reuse. */
export function perfectReuse(requests: OracleRequest[]): { computed: number[]; reused: number[] } {
  const seen = new Set<number>();
  const computed: number[] = [];
  const reused: number[] = [];
  for (const r of requests) {
    const hashes = prefixHashes(`${r.model}\u0000`, r.prompt);
    // Prefixes are inserted whole, so the set is prefix-closed: the longest known prefix is a binary search.
    let lo = 0;
    let hi = hashes.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (seen.has(hashes[mid - 1]!)) lo = mid;
      else hi = mid - 1;
    }
    const hit = r.prompt.length > 0 ? Math.min(lo, r.prompt.length - 1) : 0;
    reused.push(hit);
    computed.push(r.prompt.length - hit);
    for (const h of prefixHashes(`${r.model}\u0000`, [...r.prompt, ...r.answer])) seen.add(h);
  }
  return { computed, reused };
}

/** A 53-bit hash of every prefix of `tokens` (two FNV-style lanes), salted with `salt`. */
export function prefixHashes(salt: string, tokens: readonly number[]): number[] {
  let a = 0x811c9dc5;
  let b = 0x01234567;
  for (let i = 0; i < salt.length; i++) {
    a = Math.imul(a ^ salt.charCodeAt(i), 0x01000193) >>> 0;
    b = Math.imul(b ^ salt.charCodeAt(i), 0x5bd1e995) >>> 0;
  }
  const out = new Array<number>(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    a = Math.imul(a ^ tokens[i]!, 0x01000193) >>> 0;
    b = Math.imul(b ^ (tokens[i]! + i), 0x5bd1e995) >>> 0;
    out[i] = a * 0x200000 + (b & 0x1fffff);
  }
  return out;
}

/** Speeds of one model on one GPU, tokens per emulated ms. */
export interface OracleSpeeds {
  decodePerMs: number;
  prefillPerMs: number;
  parallel: number;
}

/** Decode and prefill speed of each model on each GPU of the fleet (model name → speeds, per GPU). */
export function fleetSpeeds(fleet: SuiteFleet): Map<string, OracleSpeeds>[] {
  return fleet.gpus.map((g) => {
    const gpu = parseGpuSpec(gpuFlag(g));
    const byModel = new Map<string, OracleSpeeds>();
    for (const m of g.models) {
      const spec = modelSpecFor(m.name, m.sizeGb, m.paramsB);
      byModel.set(m.name, {
        decodePerMs: decodeTokensPerMs(spec, gpu, DEFAULT_PERF),
        prefillPerMs: prefillTokensPerMs(spec, gpu, DEFAULT_PERF),
        parallel: g.parallel,
      });
    }
    return byModel;
  });
}

/** Emulated GPU ms one request takes at a full batch: its prefill plus its share of the decode steps. */
export function gpuMsPerRequest(s: OracleSpeeds, computedTokens: number, outputTokens: number): number {
  const stepsPerToken = (1 + DEFAULT_PERF.batchPenalty * (s.parallel - 1)) / s.parallel;
  return computedTokens / s.prefillPerMs + (outputTokens * stepsPerToken) / s.decodePerMs;
}

/** A service-level objective on emulated seconds. */
export interface Slo {
  ttftSec: number;
  /** Mean inter-token latency of a request. */
  itlSec: number;
}

/** What the oracle allows for one workload. */
export interface OracleBound {
  requests: number;
  promptTokens: number;
  computedTokens: number;
  reusedTokens: number;
  /** reused ÷ prompt tokens. */
  hitRate: number;
  /** Requests per emulated second the fleet completes at best. */
  capacityRps: number;
  /** Share of requests whose unloaded, perfectly cached latency meets the SLO (alone on the fastest GPU). */
  sloAttainable: number;
  /** TTFT p90 with perfect reuse, alone on the fastest GPU (emulated s): first turns set it. */
  ttftP90Sec: number;
}

/** The oracle bound of a request list on a fleet. */
export function oracleBound(fleet: SuiteFleet, requests: OracleRequest[], slo: Slo): OracleBound {
  const { computed, reused } = perfectReuse(requests);
  const speeds = fleetSpeeds(fleet);
  let capacity = 0;
  for (const byModel of speeds) {
    let ms = 0;
    requests.forEach((r, i) => {
      const s = byModel.get(r.model);
      if (s) ms += gpuMsPerRequest(s, computed[i]!, r.outputTokens);
    });
    if (ms > 0) capacity += (1000 * requests.length) / ms;
  }
  let meets = 0;
  const ttfts: number[] = [];
  requests.forEach((r, i) => {
    const best = speeds
      .map((m) => m.get(r.model))
      .filter((s): s is OracleSpeeds => s !== undefined)
      .sort((a, b) => b.decodePerMs - a.decodePerMs)[0];
    if (!best) return;
    const ttftSec = computed[i]! / best.prefillPerMs / 1000;
    ttfts.push(ttftSec);
    const itlSec = 1 / best.decodePerMs / 1000;
    if (ttftSec <= slo.ttftSec && itlSec <= slo.itlSec) meets++;
  });
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const promptTokens = sum(requests.map((r) => r.prompt.length));
  return {
    requests: requests.length,
    promptTokens,
    computedTokens: sum(computed),
    reusedTokens: sum(reused),
    hitRate: promptTokens > 0 ? sum(reused) / promptTokens : 0,
    capacityRps: capacity,
    sloAttainable: requests.length > 0 ? meets / requests.length : 0,
    ttftP90Sec: quantile(
      ttfts.sort((a, b) => a - b),
      0.9,
    ),
  };
}

/** Goodput the oracle reaches at an offered rate: what capacity lets through, times the attainable share. */
export function oracleGoodput(bound: OracleBound, offeredRps: number): number {
  return Math.min(offeredRps, bound.capacityRps) * bound.sloAttainable;
}
