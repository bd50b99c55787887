/**
 * Model-time clocks. The timing core reads `now()` in model milliseconds and schedules callbacks at
 * model times; the real clock maps them to wall time divided by the time scale, the manual clock
 * only moves when a test advances it.
 */
import { performance } from "node:perf_hooks";

/** A scheduled callback; cancel() makes it never run. */
export interface TimerHandle {
  cancel(): void;
}

/** Time source and timer service of the timing core, in model milliseconds. */
export interface SimClock {
  now(): number;
  /** Runs `fn` at model time `at` (a real clock may run it up to its look-ahead early). */
  schedule(at: number, fn: (at: number) => void): TimerHandle;
}

interface Entry {
  at: number;
  order: number;
  fn: (at: number) => void;
  cancelled: boolean;
}

/** Binary min-heap of timers by (time, insertion order), with lazy cancellation. */
class TimerHeap {
  private items: Entry[] = [];
  private counter = 0;

  push(at: number, fn: (at: number) => void): Entry {
    const e: Entry = { at, order: this.counter++, fn, cancelled: false };
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
    return e;
  }

  /** Earliest live entry without removing it (drops cancelled ones on the way). */
  peek(): Entry | undefined {
    while (this.items.length > 0 && this.items[0]!.cancelled) this.pop();
    return this.items[0];
  }

  pop(): Entry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.items = [];
  }
}

function less(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

/**
 * Wall-clock time times `timeScale`. Node timers cannot wait less than a millisecond, so callbacks
 * due within `lookaheadWallMs` of wall time run at once: deliveries may come that much early, but
 * a short request answers without a timer's millisecond of dead time and no CPU spins waiting.
 */
export class RealClock implements SimClock {
  private readonly heap = new TimerHeap();
  private origin = performance.now();
  private pausedAt: number | null = null;
  private timeout: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private armedFor = Infinity;
  private running = false;
  private closed = false;

  constructor(
    readonly timeScale: number,
    private readonly lookaheadWallMs = 1,
  ) {}

  now(): number {
    const wall = this.pausedAt ?? performance.now();
    return (wall - this.origin) * this.timeScale;
  }

  schedule(at: number, fn: (at: number) => void): TimerHandle {
    const e = this.heap.push(at, fn);
    // While a batch runs, run() re-arms once at its end.
    if (!this.running && at < this.armedFor) this.arm();
    return { cancel: () => void (e.cancelled = true) };
  }

  /** Stops model time (the "hang" fault): nothing fires and now() stands still until resume(). */
  pause(): void {
    if (this.pausedAt !== null) return;
    this.pausedAt = performance.now();
    this.disarm();
  }

  resume(): void {
    if (this.pausedAt === null) return;
    this.origin += performance.now() - this.pausedAt;
    this.pausedAt = null;
    this.arm();
  }

  close(): void {
    this.closed = true;
    this.disarm();
    this.heap.clear();
  }

  private disarm(): void {
    if (this.timeout) clearTimeout(this.timeout);
    if (this.immediate) clearImmediate(this.immediate);
    this.timeout = null;
    this.immediate = null;
    this.armedFor = Infinity;
  }

  private arm(): void {
    this.disarm();
    if (this.closed || this.pausedAt !== null) return;
    const next = this.heap.peek();
    if (!next) return;
    this.armedFor = next.at;
    const waitWall = (next.at - this.now()) / this.timeScale - this.lookaheadWallMs;
    if (waitWall <= 0) this.immediate = setImmediate(() => this.run());
    else this.timeout = setTimeout(() => this.run(), Math.ceil(waitWall));
  }

  private run(): void {
    this.timeout = null;
    this.immediate = null;
    this.armedFor = Infinity;
    const limit = this.now() + this.lookaheadWallMs * this.timeScale;
    this.running = true;
    try {
      // A bounded batch keeps a burst of due callbacks from starving socket I/O.
      for (let n = 0; n < 20_000 && this.pausedAt === null && !this.closed; n++) {
        const next = this.heap.peek();
        if (!next || next.at > limit) break;
        this.heap.pop();
        next.fn(next.at);
      }
    } finally {
      this.running = false;
    }
    this.arm();
  }
}

/** A clock that only moves when told to: for unit tests of the timing core without sleeps. */
export class ManualClock implements SimClock {
  private readonly heap = new TimerHeap();
  private current = 0;

  now(): number {
    return this.current;
  }

  schedule(at: number, fn: (at: number) => void): TimerHandle {
    const e = this.heap.push(at, fn);
    return { cancel: () => void (e.cancelled = true) };
  }

  /** Moves time forward by `ms`, running every callback due on the way at its own time. */
  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  advanceTo(target: number): void {
    for (;;) {
      const next = this.heap.peek();
      if (!next || next.at > target) break;
      this.heap.pop();
      this.current = Math.max(this.current, next.at);
      next.fn(next.at);
    }
    this.current = Math.max(this.current, target);
  }

  /** Runs callbacks until none is left (or `maxMs` of model time passed). */
  runUntilIdle(maxMs = 3_600_000): void {
    const stop = this.current + maxMs;
    for (;;) {
      const next = this.heap.peek();
      if (!next || next.at > stop) break;
      this.advanceTo(next.at);
    }
  }
}
