/** A clock that only moves when a test advances it, implementing the queue's Clock interface. */
import type { Clock } from "../../src/queue/clock.js";

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/** Manual time plus one-shot timers run in (time, creation) order by `advance`. */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<number, Timer>();

  constructor(startMs = 0) {
    this.current = startMs;
  }

  /** Current time; an arrow so `now: clock.now` can be passed around detached. */
  readonly now = (): number => this.current;

  /** Schedules `fn` at now + ms; returns a numeric handle. */
  setTimeout(fn: () => void, ms: number): unknown {
    const seq = ++this.seq;
    this.timers.set(seq, { at: this.current + Math.max(0, ms), seq, fn });
    return seq;
  }

  /** Cancels a timer; unknown handles are ignored, like Node's clearTimeout. */
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Timers scheduled and not yet run or cleared (to prove that nothing leaks). */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, running each due timer at its own time. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.timers.values()) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.timers.delete(next.seq);
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = target;
  }
}
