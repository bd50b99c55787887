/**
 * One model load at a time per device (the seed's "gradual model loading": no load storm at start).
 * Waiters are served by their plan step (lowest first), then in arrival order.
 */

interface Waiter {
  step: number;
  seq: number;
  start: () => void;
}

/** A priority lock per device key ("GPU-…" uuid, or "cpu"). */
export class DeviceLock {
  private readonly busy = new Set<string>();
  private readonly waiting = new Map<string, Waiter[]>();
  private seq = 0;

  /** Runs `fn` when the device is free and no waiter with a lower step is ahead. */
  async run<T>(device: string, step: number, fn: () => Promise<T>): Promise<T> {
    await new Promise<void>((start) => {
      if (!this.busy.has(device)) {
        this.busy.add(device);
        return start();
      }
      const list = this.waiting.get(device) ?? [];
      list.push({ step, seq: ++this.seq, start });
      list.sort((a, b) => a.step - b.step || a.seq - b.seq);
      this.waiting.set(device, list);
    });
    try {
      return await fn();
    } finally {
      const next = this.waiting.get(device)?.shift();
      if (next) next.start();
      else this.busy.delete(device);
    }
  }

  /** Loads waiting for a device (for stats and tests). */
  waitingFor(device: string): number {
    return this.waiting.get(device)?.length ?? 0;
  }
}
