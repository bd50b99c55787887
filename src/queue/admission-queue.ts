/**
 * The gateway's bounded admission queue: requests that found every candidate full wait here until
 * `pump()` finds them a place. Service order is effective priority (base rank raised one step per
 * `agingMs` waited, so low is never starved), FIFO within a rank, without head-of-line blocking.
 *
 * Three FIFOs, one per base priority. Within a FIFO the older waiter is always at least as
 * promoted as the younger one, so a three-way merge of the heads yields the exact service order in
 * one linear walk: no sorting per pump.
 */
import type { Priority } from "../routing/types.js";
import { TypedEmitter } from "../util/typed-emitter.js";
import { systemClock, type Clock } from "./clock.js";
import { QueueError } from "./queue-error.js";
import type { QueueRejection, QueueStats } from "./types.js";
import type {
  Admission,
  AdmissionQueueEvents,
  AdmissionQueueOptions,
  EnqueueRequest,
  QueuedWaiter,
} from "./admission-types.js";
import { LinkedFifo, type Linked } from "./waiter-list.js";

export type * from "./admission-types.js";

/** Priorities by rank: index 0 is served last. */
const PRIORITIES = ["low", "normal", "high"] as const satisfies readonly Priority[];
const TOP = PRIORITIES.length - 1;
const RANK: Record<Priority, number> = { low: 0, normal: 1, high: 2 };

interface WaiterNode<T, P> extends QueuedWaiter<T>, Linked<WaiterNode<T, P>> {
  readonly rank: number;
  readonly timeoutMs: number;
  timer: unknown;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  resolve: (admission: Admission<P>) => void;
  reject: (error: unknown) => void;
}

/** Bounded priority queue of requests waiting for capacity; `pump()` places them. */
export class AdmissionQueue<T, P> {
  /** Emits `enqueued`, `dequeued` and `rejected` for metrics and logs. */
  readonly events = new TypedEmitter<AdmissionQueueEvents<P>>();

  private readonly lists = [0, 1, 2].map(() => new LinkedFifo<WaiterNode<T, P>>());
  private readonly cursors: (WaiterNode<T, P> | undefined)[] = [undefined, undefined, undefined];
  private readonly refused = new Set<string>();
  private readonly byModel = new Map<string, number[]>();
  private readonly rejectedTotal: Record<QueueRejection, number> = {
    queue_full: 0,
    queue_timeout: 0,
    aborted: 0,
    closed: 0,
  };
  private enqueuedTotal = 0;
  private lastId = 0;
  private pumping = false;
  private pumpAgain = false;
  private closed = false;
  private readonly maxSize: number;
  private readonly agingMs: number;
  private readonly place: (waiter: QueuedWaiter<T>) => P | undefined;
  private readonly placementKey: ((waiter: QueuedWaiter<T>) => string) | null;
  private readonly clock: Clock;

  constructor(options: AdmissionQueueOptions<T, P>) {
    if (!Number.isInteger(options.maxSize) || options.maxSize < 0) {
      throw new RangeError(`maxSize must be an integer >= 0, got ${options.maxSize}`);
    }
    if (!(options.agingMs > 0)) throw new RangeError(`agingMs must be > 0, got ${options.agingMs}`);
    this.maxSize = options.maxSize;
    this.agingMs = options.agingMs;
    this.place = options.place;
    this.placementKey = options.placementKey === undefined ? (w) => w.model : options.placementKey;
    this.clock = options.clock ?? systemClock();
  }

  /** Requests waiting now. */
  get depth(): number {
    return this.lists[0]!.size + this.lists[1]!.size + this.lists[2]!.size;
  }

  /** Requests waiting now for one model (a new request should queue behind them, not overtake). */
  depthFor(model: string): number {
    const counts = this.byModel.get(model);
    return counts ? counts[0]! + counts[1]! + counts[2]! : 0;
  }

  /** Queues a request until `pump()` places it; rejects with QueueError when full, timed out, aborted or closed. */
  enqueue(request: EnqueueRequest<T>): Promise<Admission<P>> {
    const { model, priority, item, timeoutMs, signal } = request;
    const id = ++this.lastId;
    const rank = RANK[priority];
    if (rank === undefined) return Promise.reject(new TypeError(`unknown priority: ${String(priority)}`));
    const early = (code: QueueRejection, message: string): Promise<Admission<P>> => {
      this.rejectedTotal[code]++;
      const error = new QueueError(message, { code, model, priority, waitedMs: 0 });
      this.events.emit("rejected", {
        id,
        model,
        priority,
        reason: code,
        waitedMs: 0,
        depth: this.depth,
        message,
      });
      return Promise.reject(error);
    };
    if (this.closed) return early("closed", "admission queue is closed");
    if (signal?.aborted) return early("aborted", "client left before it was queued");
    if (this.depth >= this.maxSize)
      return early("queue_full", `queue full: ${this.depth}/${this.maxSize} waiting`);
    if (!(timeoutMs > 0))
      return early("queue_timeout", `queue timeout of ${timeoutMs} ms leaves no time to wait`);

    return new Promise<Admission<P>>((resolve, reject) => {
      const enqueuedAtMs = this.clock.now();
      const node: WaiterNode<T, P> = {
        id,
        model,
        priority,
        item,
        rank,
        timeoutMs,
        enqueuedAtMs,
        signal,
        resolve,
        reject,
        prev: undefined,
        next: undefined,
        linked: false,
        timer: undefined,
        onAbort: undefined,
      };
      this.lists[rank]!.push(node);
      this.count(model, rank, 1);
      this.enqueuedTotal++;
      if (Number.isFinite(timeoutMs)) node.timer = this.clock.setTimeout(() => this.expire(node), timeoutMs);
      if (signal) {
        node.onAbort = () => {
          const waited = this.clock.now() - node.enqueuedAtMs;
          this.rejectNode(node, "aborted", `client left after ${waited} ms in queue`);
        };
        signal.addEventListener("abort", node.onAbort, { once: true });
      }
      this.events.emit("enqueued", { id, model, priority, depth: this.depth });
    });
  }

  /**
   * Places every waiter it can, in service order; call whenever capacity may have freed. Returns
   * how many were placed. Re-entrant calls (from `place` or a listener) run once more afterwards.
   */
  pump(): number {
    if (this.pumping) {
      this.pumpAgain = true;
      return 0;
    }
    this.pumping = true;
    let placed = 0;
    try {
      do {
        this.pumpAgain = false;
        placed += this.pumpOnce();
      } while (this.pumpAgain && !this.closed);
    } finally {
      this.pumping = false;
    }
    return placed;
  }

  /** Depth by model and priority, rejection counts and the longest current wait. */
  stats(): QueueStats {
    const now = this.clock.now();
    const byModel: QueueStats["byModel"] = {};
    for (const [model, c] of this.byModel) byModel[model] = { high: c[2]!, normal: c[1]!, low: c[0]! };
    let oldest = Infinity;
    // Each FIFO is in arrival order, so its head is its oldest waiter.
    for (const list of this.lists) if (list.head) oldest = Math.min(oldest, list.head.enqueuedAtMs);
    return {
      depth: this.depth,
      capacity: this.maxSize,
      byModel,
      enqueuedTotal: this.enqueuedTotal,
      rejectedTotal: { ...this.rejectedTotal },
      oldestWaitMs: oldest === Infinity ? 0 : Math.max(0, now - oldest),
    };
  }

  /** Rejects every waiter with `closed`, clears their timers and refuses new requests. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const now = this.clock.now();
    for (const list of this.lists) {
      while (list.head) {
        const node = list.head;
        this.rejectNode(
          node,
          "closed",
          `admission queue closed after ${now - node.enqueuedAtMs} ms in queue`,
        );
      }
    }
  }

  private pumpOnce(): number {
    if (this.depth === 0 || this.closed) return 0;
    const now = this.clock.now();
    const cursors = this.cursors;
    for (let r = 0; r <= TOP; r++) cursors[r] = this.lists[r]!.head;
    this.refused.clear();
    let placed = 0;
    for (;;) {
      if (this.closed) break;
      // Three-way merge of the FIFO heads by (effective rank desc, arrival asc).
      let best: WaiterNode<T, P> | undefined;
      let bestRank = -1;
      let bestList = 0;
      for (let r = TOP; r >= 0; r--) {
        let c = cursors[r];
        while (c && !c.linked) c = c.next; // removed while we walked (place() or a listener)
        cursors[r] = c;
        if (!c) continue;
        const er = this.effectiveRank(c, now);
        if (!best || er > bestRank || (er === bestRank && c.id < best.id)) {
          best = c;
          bestRank = er;
          bestList = r;
        }
      }
      if (!best) break;
      cursors[bestList] = best.next;
      if (now - best.enqueuedAtMs >= best.timeoutMs) continue; // its timer is due and will reject it
      const key = this.placementKey?.(best);
      if (key !== undefined && this.refused.has(key)) continue;
      let placement: P | undefined;
      try {
        placement = this.place(best);
      } catch (error) {
        // A bug in place() fails that one request, not the pump and every other waiter.
        this.detach(best);
        best.reject(error);
        continue;
      }
      if (placement === undefined) {
        if (key !== undefined) this.refused.add(key);
        continue;
      }
      placed++;
      this.detach(best);
      const waitedMs = now - best.enqueuedAtMs;
      best.resolve({ placement, waitedMs });
      const { id, model, priority } = best;
      const effectivePriority = PRIORITIES[bestRank] ?? priority;
      this.events.emit("dequeued", {
        id,
        model,
        priority,
        effectivePriority,
        waitedMs,
        depth: this.depth,
        placement,
      });
    }
    return placed;
  }

  private effectiveRank(node: WaiterNode<T, P>, now: number): number {
    if (node.rank >= TOP) return TOP;
    const promoted = node.rank + Math.floor((now - node.enqueuedAtMs) / this.agingMs);
    return Math.min(TOP, Math.max(node.rank, promoted));
  }

  /** 1-based place of a waiter in the current service order. */
  private positionOf(node: WaiterNode<T, P>, now: number): number {
    const rank = this.effectiveRank(node, now);
    let ahead = 0;
    for (const list of this.lists) {
      for (let c = list.head; c; c = c.next) {
        const r = this.effectiveRank(c, now);
        if (r > rank || (r === rank && c.id < node.id)) ahead++;
      }
    }
    return ahead + 1;
  }

  private expire(node: WaiterNode<T, P>): void {
    if (!node.linked) return;
    const now = this.clock.now();
    const message = `waited ${now - node.enqueuedAtMs} ms in queue (position ${this.positionOf(node, now)} of ${this.depth})`;
    this.rejectNode(node, "queue_timeout", message);
  }

  private rejectNode(node: WaiterNode<T, P>, reason: QueueRejection, message: string): void {
    if (!node.linked) return;
    const waitedMs = this.clock.now() - node.enqueuedAtMs;
    this.detach(node);
    this.rejectedTotal[reason]++;
    const { id, model, priority } = node;
    // Settle before emitting, so a throwing listener cannot leave the client waiting forever.
    node.reject(new QueueError(message, { code: reason, model, priority, waitedMs }));
    this.events.emit("rejected", { id, model, priority, reason, waitedMs, depth: this.depth, message });
  }

  /** Takes a waiter out of the queue and releases its timer and abort listener. */
  private detach(node: WaiterNode<T, P>): void {
    this.lists[node.rank]!.remove(node);
    this.count(node.model, node.rank, -1);
    if (node.timer !== undefined) this.clock.clearTimeout(node.timer);
    node.timer = undefined;
    if (node.signal && node.onAbort) node.signal.removeEventListener("abort", node.onAbort);
    node.onAbort = undefined;
  }

  private count(model: string, rank: number, delta: number): void {
    let counts = this.byModel.get(model);
    if (!counts) this.byModel.set(model, (counts = [0, 0, 0]));
    counts[rank]! += delta;
    if (counts[0] === 0 && counts[1] === 0 && counts[2] === 0) this.byModel.delete(model);
  }
}
