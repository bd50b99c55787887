/** What the request handlers of one emulator share: its settings, scheduler, models, stats and faults. */
import type { SimClock } from "./clock.js";
import type { FaultState } from "./faults.js";
import type { GpuScheduler } from "./gpu-scheduler.js";
import type { Exchange } from "./http-io.js";
import type { ModelStore } from "./model-store.js";
import type { StatsCollector } from "./sim-stats.js";
import type { EvictionPolicy, GpuSpec, PerfModel } from "./types.js";

/** EmulatorOptions with every default filled in. */
export interface ResolvedOptions {
  id: string;
  host: string;
  port: number;
  gpu: GpuSpec;
  numParallel: number;
  maxLoadedModels: number;
  maxQueue: number;
  keepAliveMs: number;
  defaultNumCtx: number;
  timeScale: number;
  seed: number;
  outputTokens: { min: number; max: number };
  downloadBytesPerSec: number;
  perf: PerfModel;
  version: string;
  crashMode: "exit" | "close";
  evictionPolicy: EvictionPolicy;
}

/** The emulator as its handlers see it. */
export interface EmuContext {
  readonly opts: ResolvedOptions;
  readonly clock: SimClock;
  readonly scheduler: GpuScheduler;
  readonly store: ModelStore;
  readonly stats: StatsCollector;
  readonly faults: FaultState;
  /** Model milliseconds as reported nanoseconds (wall time: model time ÷ time scale). */
  ns(modelMs: number): number;
  /** Model milliseconds as wall milliseconds. */
  wallMs(modelMs: number): number;
  /** A deterministic pseudo-random integer in [0, n) (ids like chatcmpl-123). */
  randomInt(n: number): number;
  /** Crashes the emulator the way the "crash" fault says. */
  crash(): void;
  log(line: string): void;
}

/** A route handler. */
export type Handler = (ctx: EmuContext, x: Exchange) => void | Promise<void>;
