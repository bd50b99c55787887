/**
 * The benchmark suite's workloads: pure generators on a seeded PRNG. Every workload is a list of
 * sessions; a session is one or more chat turns sent in order (the next turn after the previous answer
 * and a think time), so single requests, multi-turn conversations and agent calls share one shape. The
 * same workload, rate, duration and seed always give the same sessions, whatever strategy serves them.
 */
import { mulberry32 } from "../../src/util/prng.js";
import { SEED_MODELS, type BenchGpu } from "./routing-workloads.js";

/** A fleet of emulated GPUs for the suite; every emulator gets the same `--num-ctx`. */
export interface SuiteFleet {
  id: string;
  gpus: BenchGpu[];
  numCtx: number;
}

/** One chat turn: the user's message, the answer length, and the pause before it (after the last answer). */
export interface SuiteTurn {
  user: string;
  numPredict: number;
  /** Emulated ms between the previous answer and this turn (0 for the first). */
  thinkMs: number;
}

/** A conversation (or a one-off request, with one turn). */
export interface SuiteSession {
  index: number;
  /** Emulated ms after the start of the run at which the first turn is sent. */
  startMs: number;
  model: string;
  /** The system message: shared instructions and this session's own context (documents, tool schemas). */
  system: string;
  turns: SuiteTurn[];
  seed: number;
}

/** The kinds of chat traffic the suite generates. */
export type SuiteShape = "multi-turn" | "shared-prefix" | "no-sharing" | "zipf-mix";

/** What a chat workload sends and on which fleet. */
export interface SuiteWorkload {
  id: string;
  title: string;
  shape: SuiteShape;
  fleet: SuiteFleet;
  /** Models with their Zipf weights (one model: weight 1). */
  mix: { model: string; weight: number }[];
  /** Emulated ms per wall ms (the emulators' --time-scale). */
  timeScale: number;
  /** Emulated seconds during which sessions start. */
  windowSeconds: number;
  /** Words (= emulated tokens) of each shape's parts, [min, max]. */
  sharedWords: number;
  contextWords: [number, number];
  userWords: [number, number];
  outputTokens: [number, number];
  /** Turns per session, [min, max]; shared prefix, no-sharing and Zipf use [1, 1]. */
  turns: [number, number];
  /** Mean think time between turns, emulated ms (exponential). */
  thinkMs: number;
  /** Distinct shared prefixes (system prompts or agent preambles). */
  groups: number;
}

/** Zipf weights 1/k^s for k = 1..n. */
export function zipfWeights(n: number, s: number): number[] {
  return Array.from({ length: n }, (_, k) => 1 / (k + 1) ** s);
}

/** Picks an index with probability proportional to its weight. */
export function pickWeighted(weights: readonly number[], u: number): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let left = u * total;
  for (let i = 0; i < weights.length; i++) {
    left -= weights[i]!;
    if (left < 0) return i;
  }
  return weights.length - 1;
}

const VOCABULARY = (
  "the a of to and in is for on with that by this as be are from at or an it not can will your which " +
  "function class data model request answer value error file code test user system time list number " +
  "schema tool argument return string object array field required optional type description example"
).split(" ");

/** `n` words from the generator; the first is `tag` so texts with different tags share no prefix. */
export function words(random: () => number, n: number, tag: string): string {
  const out = [tag];
  for (let i = 1; i < n; i++) out.push(VOCABULARY[Math.floor(random() * VOCABULARY.length)]!);
  return out.join(" ");
}

/** Mean turns of a workload's sessions. */
export function meanTurns(w: SuiteWorkload): number {
  return (w.turns[0] + w.turns[1]) / 2;
}

/**
 * Sessions whose turns arrive at `requestsPerSec` on average (emulated): session starts are Poisson at
 * requestsPerSec ÷ mean turns, for `durationSec`. Shared texts (system prompts, agent preambles) come from
 * a generator seeded by the workload alone, so every seed and rate share them, as a deployment's do.
 */
export function generateSessions(
  w: SuiteWorkload,
  requestsPerSec: number,
  durationSec: number,
  seed: number,
): SuiteSession[] {
  const shared = mulberry32(0x5eed);
  const prefixes = Array.from({ length: w.groups }, (_, g) =>
    words(shared, w.sharedWords, `${w.shape}-preamble-${g}:`),
  );
  const random = mulberry32(seed);
  const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const exp = (mean: number): number => -Math.log(1 - random()) * mean;
  const sessionRate = requestsPerSec / meanTurns(w);
  const modelWeights = w.mix.map((m) => m.weight);
  const out: SuiteSession[] = [];
  let t = 0;
  for (let index = 0; ; index++) {
    t += exp(1000 / sessionRate);
    if (t >= durationSec * 1000) return out;
    const model = w.mix[pickWeighted(modelWeights, random())]!.model;
    const unique = `s${seed}-${index}-${Math.floor(random() * 1e9)}:`;
    const group = Math.floor(random() * w.groups);
    const context = words(random, between(w.contextWords[0], w.contextWords[1]), `context-${unique}`);
    let system: string;
    if (w.shape === "no-sharing" || w.shape === "zipf-mix") system = `${unique} ${context}`;
    else if (w.shape === "shared-prefix") system = prefixes[group]!;
    else system = `${prefixes[group]!}\n${context}`;
    const turns: SuiteTurn[] = [];
    const count = between(w.turns[0], w.turns[1]);
    for (let k = 0; k < count; k++) {
      // Agent calls put their own part in the user message; the shared preamble is the whole system prompt.
      const userTag = w.shape === "shared-prefix" ? `task-${unique}${k}` : `q${k}`;
      const userBody = words(random, between(w.userWords[0], w.userWords[1]), userTag);
      turns.push({
        user: w.shape === "shared-prefix" ? `${context}\n${userBody}` : userBody,
        numPredict: between(w.outputTokens[0], w.outputTokens[1]),
        thinkMs: k === 0 ? 0 : exp(w.thinkMs),
      });
    }
    out.push({ index, startMs: t, model, system, turns, seed: Math.floor(random() * 2 ** 31) });
  }
}

/** Three RTX 3060 12 GB cards, 4 slots each, llama3.1:8b: prefill-heavy, so prefix reuse shows. */
export const PREFIX_FLEET: SuiteFleet = {
  id: "3x-rtx3060",
  numCtx: 8192,
  gpus: Array.from({ length: 3 }, () => ({
    name: "RTX 3060",
    vramGb: 12,
    parallel: 4,
    models: [{ name: "llama3.1:8b", sizeGb: 4.92, paramsB: 8.03 }],
  })),
};

/** Three RTX 3060 12 GB cards, 2 slots each, the seed's four models on every disk (two fit at once). */
export const MIX_FLEET: SuiteFleet = {
  id: "3x-rtx3060-mix",
  numCtx: 4096,
  gpus: Array.from({ length: 3 }, () => ({ name: "RTX 3060", vramGb: 12, parallel: 2, models: SEED_MODELS })),
};

const ONE_MODEL = [{ model: "llama3.1:8b", weight: 1 }];

/** The suite's chat workloads. */
export const SUITE_WORKLOADS: SuiteWorkload[] = [
  {
    id: "multi-turn",
    title:
      "multi-turn chat: 4 shared system prompts (300 words) + a per-session document or tool schema " +
      "(1,200–2,000 words), 8–16 turns, growing history",
    shape: "multi-turn",
    fleet: PREFIX_FLEET,
    mix: ONE_MODEL,
    timeScale: 8,
    windowSeconds: 90,
    sharedWords: 300,
    contextWords: [1200, 2000],
    userWords: [10, 40],
    outputTokens: [24, 72],
    turns: [8, 16],
    thinkMs: 1500,
    groups: 4,
  },
  {
    id: "shared-prefix",
    title: "agents: 6 groups, each a common 2,000-word preamble, + 50–150 words of task, one call each",
    shape: "shared-prefix",
    fleet: PREFIX_FLEET,
    mix: ONE_MODEL,
    timeScale: 8,
    windowSeconds: 60,
    sharedWords: 2000,
    contextWords: [40, 120],
    userWords: [10, 30],
    outputTokens: [16, 48],
    turns: [1, 1],
    thinkMs: 0,
    groups: 6,
  },
  {
    id: "no-sharing",
    title: "control: unique prompts (200–800 words), nothing to reuse",
    shape: "no-sharing",
    fleet: PREFIX_FLEET,
    mix: ONE_MODEL,
    timeScale: 8,
    windowSeconds: 60,
    sharedWords: 0,
    contextWords: [200, 800],
    userWords: [5, 20],
    outputTokens: [24, 72],
    turns: [1, 1],
    thinkMs: 0,
    groups: 1,
  },
  {
    id: "zipf-mix",
    title: "multi-model: the seed's 4 models, Zipf s=1.1, unique 20–200-word prompts",
    shape: "zipf-mix",
    fleet: MIX_FLEET,
    mix: SEED_MODELS.map((m, i) => ({ model: m.name, weight: zipfWeights(SEED_MODELS.length, 1.1)[i]! })),
    timeScale: 8,
    windowSeconds: 60,
    sharedWords: 0,
    contextWords: [20, 200],
    userWords: [5, 10],
    outputTokens: [16, 96],
    turns: [1, 1],
    thinkMs: 0,
    groups: 1,
  },
];

/** A workload by id (throws for an unknown one: a typo in a plan is a bug). */
export function suiteWorkload(id: string): SuiteWorkload {
  const w = SUITE_WORKLOADS.find((x) => x.id === id);
  if (!w) throw new Error(`unknown suite workload '${id}'`);
  return w;
}
