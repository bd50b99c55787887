/**
 * The adaptive window of embedding merging: a request goes upstream at once while its group (model
 * and settings) has a free lane, so an idle gateway adds no latency; while every lane is busy, arrivals
 * collect and leave together as one merged call when a lane frees, when they reach the input limit, or
 * when the oldest has waited the longest allowed wait, whichever comes first.
 */
import type { Clock } from "../queue/clock.js";

/** Settings and the I/O edge of the batcher. */
export interface EmbedBatcherOptions<M> {
  clock: Clock;
  /** Most inputs in one merged call (a single member with more still goes, alone). */
  maxInputs: number;
  /** Longest a request waits for a lane before its batch goes anyway. */
  maxWaitMs: number;
  /** Upstream calls a group may have in flight before arrivals start to collect. */
  lanes(key: string): number;
  inputsOf(member: M): number;
  /** Sends one batch upstream; the lane is busy until the promise settles. */
  dispatch(key: string, batch: M[]): Promise<void>;
}

/** Counters of the batcher. */
export interface EmbedBatcherStats {
  /** Batches sent with one member (no merging needed). */
  soloBatches: number;
  /** Batches sent with two or more members. */
  mergedBatches: number;
  mergedMembers: number;
  /** Members waiting for a lane now. */
  waiting: number;
}

interface Group<M> {
  inFlight: number;
  pending: M[];
  pendingInputs: number;
  timer: unknown;
}

/** Groups concurrent embedding requests by key and decides when each batch goes. */
export class EmbedBatcher<M> {
  private readonly groups = new Map<string, Group<M>>();
  private readonly counts = { soloBatches: 0, mergedBatches: 0, mergedMembers: 0 };
  private closed = false;

  constructor(private readonly options: EmbedBatcherOptions<M>) {}

  /** Takes a request: sent at once when a lane is free, else queued for the next batch. */
  add(key: string, member: M): void {
    const g = this.group(key);
    g.pending.push(member);
    g.pendingInputs += this.options.inputsOf(member);
    if (g.inFlight < this.lanes(key) || g.pendingInputs >= this.options.maxInputs) this.flush(key, g);
    else this.arm(key, g);
  }

  /** Withdraws a queued request (its client left); false when it was already sent. */
  remove(key: string, member: M): boolean {
    const g = this.groups.get(key);
    const at = g ? g.pending.indexOf(member) : -1;
    if (!g || at === -1) return false;
    g.pending.splice(at, 1);
    g.pendingInputs -= this.options.inputsOf(member);
    if (g.pending.length === 0) this.disarm(g);
    this.forgetIfIdle(key, g);
    return true;
  }

  stats(): EmbedBatcherStats {
    let waiting = 0;
    for (const g of this.groups.values()) waiting += g.pending.length;
    return { ...this.counts, waiting };
  }

  /** Stops the timers; queued requests are sent at once (nothing is dropped). */
  close(): void {
    this.closed = true;
    for (const [key, g] of this.groups) {
      this.disarm(g);
      while (g.pending.length > 0) this.flush(key, g);
    }
  }

  private lanes(key: string): number {
    return Math.max(1, this.options.lanes(key));
  }

  private group(key: string): Group<M> {
    let g = this.groups.get(key);
    if (!g) {
      g = { inFlight: 0, pending: [], pendingInputs: 0, timer: undefined };
      this.groups.set(key, g);
    }
    return g;
  }

  /** Sends the oldest queued requests, up to the input limit, as one batch. */
  private flush(key: string, g: Group<M>): void {
    this.disarm(g);
    const batch: M[] = [];
    let inputs = 0;
    while (g.pending.length > 0) {
      const next = g.pending[0] as M;
      const n = this.options.inputsOf(next);
      if (batch.length > 0 && inputs + n > this.options.maxInputs) break;
      batch.push(next);
      inputs += n;
      g.pending.shift();
    }
    g.pendingInputs -= inputs;
    if (batch.length === 0) return;
    if (batch.length === 1) this.counts.soloBatches++;
    else {
      this.counts.mergedBatches++;
      this.counts.mergedMembers += batch.length;
    }
    g.inFlight++;
    const done = (): void => {
      g.inFlight--;
      if (g.pending.length > 0 && g.inFlight < this.lanes(key)) this.flush(key, g);
      this.forgetIfIdle(key, g);
    };
    this.options.dispatch(key, batch).then(done, done);
    if (g.pending.length > 0) {
      if (g.pendingInputs >= this.options.maxInputs) this.flush(key, g);
      else this.arm(key, g);
    }
  }

  private arm(key: string, g: Group<M>): void {
    if (g.timer !== undefined || this.closed) return;
    g.timer = this.options.clock.setTimeout(() => {
      g.timer = undefined;
      if (g.pending.length > 0) this.flush(key, g);
    }, this.options.maxWaitMs);
  }

  private disarm(g: Group<M>): void {
    if (g.timer === undefined) return;
    this.options.clock.clearTimeout(g.timer);
    g.timer = undefined;
  }

  private forgetIfIdle(key: string, g: Group<M>): void {
    if (g.inFlight === 0 && g.pending.length === 0 && this.groups.get(key) === g) this.groups.delete(key);
  }
}
