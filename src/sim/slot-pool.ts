/** The pieces the engine schedules: sequences, their results and listeners, and a model's slots. */
import type { ModelSpec } from "./types.js";

/** What one sequence asks of a slot. */
export interface SequenceSpec {
  promptTokens: readonly number[];
  /** Token ids it will generate, in order (empty for embeddings). */
  outputTokens: readonly number[];
  /** Embeddings neither reuse nor keep a slot's prompt cache. */
  usePromptCache: boolean;
}

/** Timing of a finished sequence, in model milliseconds. */
export interface SequenceResult {
  /** All prompt tokens, cached or not (what newer Ollama reports as prompt_eval_count). */
  promptEvalCount: number;
  /** Time to prefill the tokens the cache did not hold. */
  promptEvalMs: number;
  cachedTokens: number;
  evalCount: number;
  evalMs: number;
}

/** Callbacks of one sequence; called synchronously from inside the engine. */
export interface SequenceListener {
  onToken(index: number): void;
  onDone(result: SequenceResult): void;
}

/** Counters the engine reports to (the emulator's stats). */
export interface EngineObserver {
  prefill(model: string, computed: number, reused: number): void;
  token(model: string): void;
}

/** A parallel slot of a loaded model, with the tokens its KV cache holds. */
export interface Slot {
  busy: Seq | null;
  tokens: number[];
  lastUsed: number;
}

/** A sequence in the engine: waiting for a slot, prefilling, decoding, or finished. */
export interface Seq {
  readonly spec: SequenceSpec;
  readonly pool: SlotPool;
  readonly listener: SequenceListener;
  phase: "waiting" | "prefill" | "decode" | "done" | "cancelled";
  slot: Slot | null;
  remaining: number;
  rate: number;
  cachedTokens: number;
  startedAt: number;
  decodeStartedAt: number;
  promptEvalMs: number;
  emitted: number;
}

/** One loaded model's slots and the FIFO of sequences waiting for one. */
export class SlotPool {
  readonly slots: Slot[];
  readonly waiting: Seq[] = [];
  ready = false;
  active = 0;

  constructor(
    readonly model: ModelSpec,
    parallel: number,
    readonly decodePerMs: number,
    readonly prefillPerMs: number,
  ) {
    this.slots = Array.from({ length: Math.max(1, parallel) }, () => ({
      busy: null,
      tokens: [],
      lastUsed: -1,
    }));
  }
}
