/** The scheduler's vocabulary: its settings, jobs and their results, and its view of loaded models. */
import type { TimerHandle } from "./clock.js";
import type { EngineObserver, Seq, SequenceResult, SequenceSpec, SlotPool } from "./slot-pool.js";
import type { EvictionPolicy, GpuSpec, ModelSpec, PerfModel, SimError } from "./types.js";

/** Settings of the scheduler. */
export interface SchedulerConfig {
  gpu: GpuSpec;
  perf: PerfModel;
  numParallel: number;
  /** 0 means Ollama's default of 3 per GPU. */
  maxLoadedModels: number;
  maxQueue: number;
  /** Model milliseconds; Infinity keeps models loaded forever. */
  defaultKeepAliveMs: number;
  evictionPolicy: EvictionPolicy;
}

/** What a request asks the scheduler for: a model with options, and sequences to run on it. */
export interface JobSpec {
  model: ModelSpec;
  numCtx: number;
  /** keep_alive of the request (model ms); undefined leaves the model's as it is. */
  keepAliveMs?: number;
  /** None: only load the model. */
  sequences: SequenceSpec[];
}

/** A finished request's timing, in model milliseconds. */
export interface JobResult {
  loadMs: number;
  totalMs: number;
  sequences: SequenceResult[];
}

/** Callbacks of a job; they may run synchronously inside submit(). */
export interface JobListener {
  onToken?(sequence: number, index: number): void;
  onDone(result: JobResult): void;
  onError(err: SimError): void;
}

/** A submitted request; cancel() frees whatever it holds at once. */
export interface Job {
  cancel(): void;
}

/** Scheduler counters merged into the emulator's stats. */
export interface SchedulerObserver extends EngineObserver {
  load(model: string): void;
  unload(model: string, evicted: boolean): void;
}

/** A loaded (or loading) model as /api/ps and the stats see it. */
export interface RunnerInfo {
  model: ModelSpec;
  state: "loading" | "ready";
  numCtx: number;
  memoryBytes: number;
  refCount: number;
  /** Keep-alive in model ms (Infinity: forever). */
  sessionMs: number;
  /** Model time it unloads at when idle, else null (busy, or kept forever). */
  expiresAt: number | null;
  active: number;
  waiting: number;
}

/** A loaded (or loading) model inside the scheduler. */
export interface Runner {
  model: ModelSpec;
  key: string;
  numCtx: number;
  memoryBytes: number;
  pool: SlotPool;
  state: "loading" | "ready";
  refCount: number;
  sessionMs: number;
  expiresAt: number | null;
  expiry: TimerHandle | null;
  loadTimer: TimerHandle | null;
  lastUsedAt: number;
  evicting: boolean;
  awaitingLoad: JobState[];
}

/** A request inside the scheduler. */
export interface JobState {
  spec: JobSpec;
  listener: JobListener;
  state: "pending" | "assigned" | "done" | "cancelled" | "failed";
  submittedAt: number;
  readyAt: number;
  runner: Runner | null;
  seqs: Seq[];
  results: SequenceResult[];
  left: number;
}
