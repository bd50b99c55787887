/**
 * The GPU's compute timeline: each loaded model has parallel slots with a prompt (KV) cache; the
 * sequences in them prefill and decode at rates that share the GPU. Rates are constant between
 * events, so progress is integrated exactly and one timer waits for the next event.
 */
import type { SimClock, TimerHandle } from "./clock.js";
import { decodeTokensPerMs, prefillTokensPerMs } from "./perf-model.js";
import {
  SlotPool,
  type EngineObserver,
  type Seq,
  type SequenceListener,
  type SequenceSpec,
  type Slot,
} from "./slot-pool.js";
import type { GpuSpec, ModelSpec, PerfModel } from "./types.js";

const EPS = 1e-7;

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** The shared timeline of every sequence on one GPU. */
export class GpuEngine {
  private active: Seq[] = [];
  private time: number;
  private nextAt = Infinity;
  private timer: TimerHandle | null = null;
  private processing = false;
  private slow = 1;
  /** Model milliseconds with at least one sequence on the GPU. */
  busyMs = 0;
  maxRunning = 0;

  constructor(
    private readonly clock: SimClock,
    private readonly gpu: GpuSpec,
    private readonly perf: PerfModel,
    private readonly observer: EngineObserver,
  ) {
    this.time = clock.now();
  }

  /** Slots for a model about to load, with its speeds on this GPU. */
  createPool(model: ModelSpec, parallel: number): SlotPool {
    return new SlotPool(
      model,
      parallel,
      decodeTokensPerMs(model, this.gpu, this.perf),
      prefillTokensPerMs(model, this.gpu, this.perf),
    );
  }

  /** Model time of the timeline (a real clock's look-ahead can put it slightly past the clock). */
  now(): number {
    return Math.max(this.clock.now(), this.time);
  }

  /** Sequences prefilling or decoding now. */
  get running(): number {
    return this.active.length;
  }

  /** Queues a sequence on a pool; it starts as soon as the pool is ready and a slot is free. */
  submit(pool: SlotPool, spec: SequenceSpec, listener: SequenceListener): Seq {
    const seq: Seq = {
      spec,
      pool,
      listener,
      phase: "waiting",
      slot: null,
      remaining: 0,
      rate: 0,
      cachedTokens: 0,
      startedAt: 0,
      decodeStartedAt: 0,
      promptEvalMs: 0,
      emitted: 0,
    };
    this.mutate(() => {
      pool.waiting.push(seq);
      this.fill(pool);
    });
    return seq;
  }

  /** Stops a sequence at once and frees its slot (the slot keeps the tokens it computed). */
  cancel(seq: Seq): void {
    if (seq.phase === "done" || seq.phase === "cancelled") return;
    this.mutate(() => {
      if (seq.phase === "waiting") {
        const i = seq.pool.waiting.indexOf(seq);
        if (i >= 0) seq.pool.waiting.splice(i, 1);
      } else {
        if (seq.phase === "prefill" && seq.slot && seq.spec.usePromptCache) {
          const done =
            seq.cachedTokens + Math.floor(seq.spec.promptTokens.length - seq.cachedTokens - seq.remaining);
          seq.slot.tokens = seq.spec.promptTokens.slice(0, Math.max(seq.cachedTokens, done));
        }
        this.release(seq);
      }
      seq.phase = "cancelled";
    });
  }

  /** The pool's model finished loading: its waiting sequences may start. */
  poolReady(pool: SlotPool): void {
    this.mutate(() => {
      pool.ready = true;
      this.fill(pool);
    });
  }

  /** Every duration × factor from now on (the "slow" fault). */
  setSlowFactor(factor: number): void {
    this.mutate(() => void (this.slow = factor > 0 ? factor : 1));
  }

  get slowFactor(): number {
    return this.slow;
  }

  close(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** Brings the timeline to now, applies a change, and re-plans the next event. */
  private mutate(change: () => void): void {
    if (this.processing) {
      change();
      return;
    }
    this.processing = true;
    try {
      this.catchUp(Math.max(this.clock.now(), this.time));
      change();
    } finally {
      this.processing = false;
    }
    this.replan();
  }

  private onTimer(at: number): void {
    this.timer = null;
    this.processing = true;
    try {
      this.catchUp(at);
    } finally {
      this.processing = false;
    }
    this.replan();
  }

  /** Runs every event up to `t` in order, then integrates partial progress to `t`. */
  private catchUp(t: number): void {
    while (this.nextAt <= t) {
      this.step(this.nextAt);
      this.computeRates();
    }
    this.integrate(t);
  }

  private integrate(t: number): void {
    const dt = t - this.time;
    if (dt <= 0) return;
    if (this.active.length > 0) this.busyMs += dt;
    for (const s of this.active) s.remaining -= s.rate * dt;
    this.time = t;
  }

  /** Handles the sequences whose phase or token ends at `at`. */
  private step(at: number): void {
    this.integrate(at);
    // Due when done, or when what is left takes less time than `at` can resolve as a double: late in a
    // long run, a tiny remainder would otherwise re-plan the same instant forever.
    const due = this.active.filter((s) => s.remaining <= EPS || at + s.remaining / s.rate <= at);
    for (const seq of due) {
      if (seq.phase === "prefill") {
        seq.promptEvalMs = at - seq.startedAt;
        if (seq.spec.usePromptCache && seq.slot) seq.slot.tokens = seq.spec.promptTokens.slice();
        if (seq.spec.outputTokens.length === 0) {
          this.finish(seq, at);
        } else {
          seq.phase = "decode";
          seq.decodeStartedAt = at;
          seq.remaining = 1;
        }
      } else if (seq.phase === "decode") {
        const index = seq.emitted++;
        if (seq.spec.usePromptCache) seq.slot?.tokens.push(seq.spec.outputTokens[index]!);
        this.observer.token(seq.pool.model.name);
        const last = seq.emitted >= seq.spec.outputTokens.length;
        if (!last) seq.remaining = 1;
        seq.listener.onToken(index);
        if (last && seq.phase === "decode") this.finish(seq, at);
      }
    }
  }

  private finish(seq: Seq, at: number): void {
    this.release(seq);
    seq.phase = "done";
    seq.listener.onDone({
      promptEvalCount: seq.spec.promptTokens.length,
      promptEvalMs: seq.promptEvalMs,
      cachedTokens: seq.cachedTokens,
      evalCount: seq.emitted,
      evalMs: seq.emitted > 0 ? at - seq.decodeStartedAt : 0,
    });
  }

  /** Takes a running sequence off the GPU and gives its slot to the next waiting one. */
  private release(seq: Seq): void {
    const i = this.active.indexOf(seq);
    if (i >= 0) this.active.splice(i, 1);
    seq.pool.active--;
    if (seq.slot) {
      seq.slot.busy = null;
      seq.slot.lastUsed = this.time;
    }
    this.fill(seq.pool);
  }

  /**
   * Starts waiting sequences in free slots the way Ollama's runner picks a cache slot (findBestCacheSlot):
   * the slot sharing the longest prefix is reused when it is free and its whole content is a prefix of the
   * prompt (the same conversation, extended); otherwise the least recently used free slot is taken and the
   * longest shared prefix is copied into it ("forking"), so another conversation's cache is not destroyed.
   */
  private fill(pool: SlotPool): void {
    while (pool.ready && pool.waiting.length > 0) {
      const seq = pool.waiting[0]!;
      let longest: Slot | null = null;
      let longestPrefix = -1;
      let oldest: Slot | null = null;
      for (const slot of pool.slots) {
        const prefix = seq.spec.usePromptCache ? commonPrefix(slot.tokens, seq.spec.promptTokens) : 0;
        if (prefix > longestPrefix) {
          longest = slot;
          longestPrefix = prefix;
        }
        if (!slot.busy && (!oldest || slot.lastUsed < oldest.lastUsed)) oldest = slot;
      }
      if (!oldest || !longest) return;
      let best = oldest;
      const bestPrefix = longestPrefix;
      if (!longest.busy && longestPrefix === longest.tokens.length) best = longest;
      else if (longest !== oldest) oldest.tokens = longest.tokens.slice(0, longestPrefix);
      pool.waiting.shift();
      const promptLength = seq.spec.promptTokens.length;
      // llama.cpp evaluates at least the last prompt token even when the cache holds all of it.
      const cached = promptLength > 0 ? Math.min(bestPrefix, promptLength - 1) : 0;
      best.busy = seq;
      best.tokens = seq.spec.usePromptCache ? best.tokens.slice(0, cached) : [];
      seq.slot = best;
      seq.phase = "prefill";
      seq.cachedTokens = cached;
      seq.remaining = promptLength - cached;
      seq.startedAt = this.time;
      pool.active++;
      this.active.push(seq);
      this.maxRunning = Math.max(this.maxRunning, this.active.length);
      this.observer.prefill(pool.model.name, promptLength - cached, cached);
    }
  }

  /**
   * Rates: GPU time splits evenly over models with work; within a model, each prefilling sequence
   * and the decode batch as a whole take equal turns; a decode batch of n runs each sequence at
   * base / (1 + penalty·(n−1)), so the batch's total rises sublinearly.
   */
  private computeRates(): void {
    const counts = new Map<SlotPool, { prefill: number; decode: number }>();
    for (const s of this.active) {
      const c = counts.get(s.pool) ?? { prefill: 0, decode: 0 };
      if (s.phase === "prefill") c.prefill++;
      else c.decode++;
      counts.set(s.pool, c);
    }
    const modelShare = 1 / Math.max(1, counts.size);
    let next = Infinity;
    for (const s of this.active) {
      const c = counts.get(s.pool)!;
      const turn = modelShare / (c.prefill + (c.decode > 0 ? 1 : 0));
      s.rate =
        s.phase === "prefill"
          ? (turn * s.pool.prefillPerMs) / this.slow
          : (turn * s.pool.decodePerMs) / (1 + this.perf.batchPenalty * (c.decode - 1)) / this.slow;
      next = Math.min(next, this.time + Math.max(0, s.remaining) / s.rate);
    }
    this.nextAt = next;
  }

  private replan(): void {
    this.computeRates();
    this.timer?.cancel();
    this.timer = Number.isFinite(this.nextAt)
      ? this.clock.schedule(this.nextAt, (at) => this.onTimer(at))
      : null;
  }
}
