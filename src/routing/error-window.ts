/** Success and failure counts over a sliding time window, in a fixed ring of time buckets. */

/** Requests and failures seen in a window. */
export interface WindowCounts {
  requests: number;
  failures: number;
}

/**
 * A ring of `bucketCount` buckets, each covering windowMs / bucketCount of time; memory is fixed however
 * many requests arrive, at the price of the window's edge moving in bucket-sized steps. A bucket is reused
 * when its slot comes round again, which is what expires old counts: no timers, only the clock read on use.
 */
export class ErrorWindow {
  private readonly bucketMs: number;
  private readonly epochs: number[];
  private readonly requests: number[];
  private readonly failures: number[];

  constructor(
    readonly windowMs: number,
    readonly bucketCount: number,
  ) {
    if (!(windowMs > 0) || !(bucketCount >= 1))
      throw new Error("ErrorWindow needs windowMs > 0 and bucketCount >= 1");
    this.bucketMs = windowMs / bucketCount;
    this.epochs = new Array<number>(bucketCount).fill(-Infinity);
    this.requests = new Array<number>(bucketCount).fill(0);
    this.failures = new Array<number>(bucketCount).fill(0);
  }

  /** Counts one request at `nowMs`, failed or not. */
  record(nowMs: number, ok: boolean): void {
    const epoch = Math.floor(nowMs / this.bucketMs);
    const slot = mod(epoch, this.bucketCount);
    if (this.epochs[slot] !== epoch) {
      this.epochs[slot] = epoch;
      this.requests[slot] = 0;
      this.failures[slot] = 0;
    }
    this.requests[slot] = (this.requests[slot] ?? 0) + 1;
    if (!ok) this.failures[slot] = (this.failures[slot] ?? 0) + 1;
  }

  /** Totals of the buckets whose time lies within the last windowMs (by bucket) before `nowMs`. */
  counts(nowMs: number): WindowCounts {
    const nowEpoch = Math.floor(nowMs / this.bucketMs);
    let requests = 0;
    let failures = 0;
    for (let slot = 0; slot < this.bucketCount; slot++) {
      // A bucket from the future (a clock that stepped back) still counts rather than vanishing.
      if (nowEpoch - (this.epochs[slot] ?? -Infinity) >= this.bucketCount) continue;
      requests += this.requests[slot] ?? 0;
      failures += this.failures[slot] ?? 0;
    }
    return { requests, failures };
  }

  /** Failed share of the window's requests, 0 when there were none. */
  rate(nowMs: number): number {
    const { requests, failures } = this.counts(nowMs);
    return requests === 0 ? 0 : failures / requests;
  }
}

function mod(n: number, m: number): number {
  return ((n % m) + m) % m;
}
