/**
 * The routing benchmark's fleets and workloads: emulated GPUs with the models on their disks, a Zipf model
 * mix, and seeded open-loop Poisson arrival sequences, so every strategy is measured on the very same
 * requests at the very same (emulated) instants.
 */
import { SEED_DEMO_GPUS } from "../../src/cli/demo-fleet.js";
import { modelSpecFor } from "../../src/sim/catalog.js";
import { mulberry32 } from "../../src/util/prng.js";
import {
  DEFAULT_PERF,
  decodeTokensPerMs,
  parseGpuSpec,
  prefillTokensPerMs,
} from "../../src/sim/perf-model.js";

/** A model on an emulator's disk: `name:sizeGB:paramsB` as `--models` takes it. */
export interface BenchModel {
  name: string;
  sizeGb: number;
  paramsB: number;
}

/** One emulated GPU running one Ollama instance. */
export interface BenchGpu {
  /** GPU name as `--gpu` takes it (bandwidth from the emulator's table unless given). */
  name: string;
  vramGb: number;
  bandwidthGbps?: number;
  /** OLLAMA_NUM_PARALLEL, also the gateway's `max_concurrent_requests` for it. */
  parallel: number;
  models: BenchModel[];
}

/** A fleet of emulated GPUs. */
export interface BenchFleet {
  id: string;
  gpus: BenchGpu[];
}

/** What one workload sends: which fleet, which models how often, how long the prompts and answers are. */
export interface Workload {
  id: string;
  title: string;
  fleet: BenchFleet;
  /** Models and their request shares (normalised when sampling). */
  mix: { model: string; weight: number }[];
  /** Answer length in tokens, drawn uniformly from [min, max] per request (`num_predict`). */
  outputTokens: [number, number];
  /** Prompt length in words (one emulated token each), drawn uniformly per request. */
  promptWords: [number, number];
  /**
   * The emulators' --time-scale, chosen per workload so that about 4,000 tokens a wall second stream
   * through the gateway at saturation: the gateway spends roughly 90 µs of CPU per streamed token, and
   * on 2 shared cores a busier gateway delays slot turnaround enough to distort the emulated figures.
   */
  timeScale: number;
  /** Emulated seconds of traffic per run. */
  windowSeconds: number;
  /**
   * A hand-made static placement (models per GPU, in fleet order) that fits in memory: the "Pinned"
   * reference puts only these models on each disk, so routing has no placement decision left to get wrong.
   */
  pinned?: string[][];
}

/** One request of an arrival sequence. */
export interface ScheduledRequest {
  index: number;
  /** Arrival time after the start of the run, in emulated milliseconds. */
  atMs: number;
  model: string;
  prompt: string;
  numPredict: number;
  seed: number;
}

/** The seed design's four models, sizes as its demo fleet (and Ollama's library) gives them. */
export const SEED_MODELS: BenchModel[] = SEED_DEMO_GPUS.flatMap((g) => g.models).map((spec) => {
  const parts = spec.split(":");
  return { name: `${parts[0]}:${parts[1]}`, sizeGb: Number(parts[2]), paramsB: Number(parts[3]) };
});

/** The seed models' names, by short name. */
const M = {
  mistral: SEED_MODELS[0]!.name,
  deepseek: SEED_MODELS[1]!.name,
  codegemma: SEED_MODELS[2]!.name,
  gemma2: SEED_MODELS[3]!.name,
};

/** Zipf weights 1/k^s for k = 1..n. */
export function zipfWeights(n: number, s: number): number[] {
  return Array.from({ length: n }, (_, k) => 1 / (k + 1) ** s);
}

/** The seed's two GPUs, but every model on both disks so the router decides where each one loads. */
export const SEED_FLEET: BenchFleet = {
  id: "seed-2gpu",
  gpus: SEED_DEMO_GPUS.map((g) => ({
    name: g.name,
    vramGb: g.vramGb,
    parallel: g.parallel,
    models: SEED_MODELS,
  })),
};

/** Two fast 24 GB cards and two slow small ones: 3.4× between the fastest and the slowest. */
export function unequalFleet(models: BenchModel[]): BenchFleet {
  return {
    id: "unequal-4gpu",
    gpus: [
      { name: "RTX 3090", vramGb: 24, bandwidthGbps: 936, parallel: 4, models },
      { name: "RTX 3090", vramGb: 24, bandwidthGbps: 936, parallel: 4, models },
      { name: "RTX 3060", vramGb: 12, bandwidthGbps: 360, parallel: 2, models },
      { name: "RTX 4060", vramGb: 8, bandwidthGbps: 272, parallel: 2, models },
    ],
  };
}

/** Zipf exponent of the model mix. */
export const ZIPF_S = 1.1;

const SEED_MIX = SEED_MODELS.map((m, i) => ({
  model: m.name,
  weight: zipfWeights(SEED_MODELS.length, ZIPF_S)[i]!,
}));

/** The three workloads of the routing benchmark. */
export const ROUTING_WORKLOADS: Workload[] = [
  {
    id: "seed-zipf",
    title: "seed fleet (RTX 3060 Ti 8 GB ×2 slots + RTX 4070 Ti 12 GB ×3 slots), 4 models, Zipf s=1.1",
    fleet: SEED_FLEET,
    mix: SEED_MIX,
    outputTokens: [16, 160],
    promptWords: [20, 200],
    timeScale: 40,
    windowSeconds: 400,
    // The 8 GB card holds one of these models at a time: the most popular one. The 12 GB card holds two of
    // the other three at a time, so gemma2 (11% of requests) still swaps there.
    pinned: [[M.mistral], [M.deepseek, M.codegemma, M.gemma2]],
  },
  {
    id: "unequal-zipf",
    title: "4 unequal GPUs (2× RTX 3090 24 GB, RTX 3060 12 GB, RTX 4060 8 GB), 4 models, Zipf s=1.1",
    fleet: unequalFleet(SEED_MODELS),
    mix: SEED_MIX,
    outputTokens: [16, 160],
    promptWords: [20, 200],
    timeScale: 10,
    windowSeconds: 150,
    // Every model hot somewhere, nothing ever evicted: three models per 24 GB card, the two most
    // popular on every card that holds them.
    pinned: [
      [M.mistral, M.deepseek, M.codegemma],
      [M.mistral, M.deepseek, M.gemma2],
      [M.mistral, M.deepseek],
      [M.mistral],
    ],
  },
  {
    id: "unequal-single",
    title: "4 unequal GPUs, one model (mistral:7b-instruct-q4_K_M) everywhere, unique prompts",
    fleet: unequalFleet(SEED_MODELS.slice(0, 1)),
    mix: [{ model: SEED_MODELS[0]!.name, weight: 1 }],
    outputTokens: [16, 160],
    promptWords: [20, 200],
    timeScale: 6,
    windowSeconds: 90,
  },
];

const WORDS = (
  "the a of to and in is for on with that by this as be are from at or an it not can will your which " +
  "function class data model request answer value error file code test user system time list number"
).split(" ");

/**
 * Open-loop Poisson arrivals at `ratePerSec` (emulated seconds) for `durationSec`: exponential gaps, a model
 * from the mix, an answer length and a unique prompt per request, all from one seeded generator. The same
 * seed, rate and duration give the same sequence, whatever strategy serves it.
 */
export function arrivals(
  workload: Workload,
  ratePerSec: number,
  durationSec: number,
  seed: number,
): ScheduledRequest[] {
  const random = mulberry32(seed);
  const total = workload.mix.reduce((s, m) => s + m.weight, 0);
  const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const out: ScheduledRequest[] = [];
  let t = 0;
  for (let index = 0; ; index++) {
    t += (-Math.log(1 - random()) / ratePerSec) * 1000;
    if (t >= durationSec * 1000) return out;
    let pick = random() * total;
    const entry = workload.mix.find((m) => (pick -= m.weight) < 0) ?? workload.mix[workload.mix.length - 1]!;
    const words = between(workload.promptWords[0], workload.promptWords[1]);
    // A unique first word: no two prompts share a prefix, so no slot's prompt cache helps.
    const text = [`req${index}-${Math.floor(random() * 1e9)}`];
    for (let w = 1; w < words; w++) text.push(WORDS[Math.floor(random() * WORDS.length)]!);
    out.push({
      index,
      atMs: t,
      model: entry.model,
      prompt: text.join(" "),
      numPredict: between(workload.outputTokens[0], workload.outputTokens[1]),
      seed: Math.floor(random() * 2 ** 31),
    });
  }
}

/**
 * Requests per emulated second the fleet would complete if every GPU had every model of the mix loaded
 * and busy with full batches, no load ever needed: an upper bound from the emulator's timing model
 * (docs/emulator.md), used only to pick an arrival rate sure to overload every strategy.
 */
export function idealCapacity(workload: Workload): number {
  const total = workload.mix.reduce((s, m) => s + m.weight, 0);
  const meanOut = (workload.outputTokens[0] + workload.outputTokens[1]) / 2;
  const meanPrompt = (workload.promptWords[0] + workload.promptWords[1]) / 2;
  let sum = 0;
  for (const g of workload.fleet.gpus) {
    const gpu = parseGpuSpec(gpuFlag(g));
    const slowdown = 1 + DEFAULT_PERF.batchPenalty * (g.parallel - 1);
    // Mean emulated seconds of GPU time per request at a full batch, over the mix.
    let secondsPerRequest = 0;
    for (const { model, weight } of workload.mix) {
      const m = g.models.find((x) => x.name === model)!;
      const spec = modelSpecFor(m.name, m.sizeGb, m.paramsB);
      const decodeMs = (meanOut / decodeTokensPerMs(spec, gpu, DEFAULT_PERF)) * slowdown;
      const prefillMs = meanPrompt / prefillTokensPerMs(spec, gpu, DEFAULT_PERF);
      secondsPerRequest += (weight / total) * ((decodeMs + prefillMs) / 1000 / g.parallel);
    }
    sum += 1 / secondsPerRequest;
  }
  return sum;
}

/** The emulator's `--gpu` value for a GPU. */
export function gpuFlag(g: BenchGpu): string {
  return `${g.name}:${g.vramGb}${g.bandwidthGbps === undefined ? "" : `:${g.bandwidthGbps}`}`;
}

/** The emulator's `--models` value for a GPU. */
export function modelsFlag(g: BenchGpu): string {
  return g.models.map((m) => `${m.name}:${m.sizeGb}:${m.paramsB}`).join(",");
}
