/** Public types of the admission queue: what callers pass in, what they get back, and its events. */
import type { Priority } from "../routing/types.js";
import type { Clock } from "./clock.js";
import type { QueueRejection } from "./types.js";

/** What `place` sees of a waiting request. */
export interface QueuedWaiter<T> {
  /** Unique per queue, increasing in arrival order. */
  readonly id: number;
  readonly model: string;
  readonly priority: Priority;
  readonly item: T;
  readonly enqueuedAtMs: number;
}

/** A request to wait for a place. */
export interface EnqueueRequest<T> {
  model: string;
  priority: Priority;
  /** Anything the placement function needs (the request, excluded instances...). */
  item: T;
  /** Longest wait in ms before rejection with `queue_timeout`; Infinity waits forever. */
  timeoutMs: number;
  /** Aborted when the client leaves: the waiter leaves the queue at once. */
  signal?: AbortSignal;
}

/** What an admitted request receives. */
export interface Admission<P> {
  placement: P;
  waitedMs: number;
}

/** Settings of an admission queue. */
export interface AdmissionQueueOptions<T, P> {
  /** Most requests waiting at once (the seed's default is 512, like Ollama's). */
  maxSize: number;
  /** Waiting this long promotes a waiter one priority step; Infinity disables ageing. */
  agingMs: number;
  /**
   * Tries to place a waiter; returns its placement or undefined when nothing is free. It must claim
   * what it returns (count the request in flight, take the breaker trial) before returning,
   * because the pump goes on asking for the next waiters at once.
   */
  place: (waiter: QueuedWaiter<T>) => P | undefined;
  /**
   * Waiters with equal keys get the same answer within one pump, so once one is refused the others
   * are skipped until the next pump. Default: the model. Include whatever else `place` depends on
   * (excluded instances, for instance), or pass null to ask `place` about every waiter.
   */
  placementKey?: ((waiter: QueuedWaiter<T>) => string) | null;
  /** Time and timers; defaults to the real clock. */
  clock?: Clock;
}

/** Payload of `enqueued`. */
export interface QueueEnqueuedEvent {
  id: number;
  model: string;
  priority: Priority;
  /** Depth after this request joined. */
  depth: number;
}

/** Payload of `dequeued`: a waiter was placed. */
export interface QueueDequeuedEvent<P> {
  id: number;
  model: string;
  priority: Priority;
  /** The priority it was served at, after ageing. */
  effectivePriority: Priority;
  waitedMs: number;
  depth: number;
  placement: P;
}

/** Payload of `rejected`: a request left (or never entered) the queue unserved. */
export interface QueueRejectedEvent {
  id: number;
  model: string;
  priority: Priority;
  reason: QueueRejection;
  waitedMs: number;
  depth: number;
  message: string;
}

/** Events of an admission queue. */
export interface AdmissionQueueEvents<P> {
  enqueued: QueueEnqueuedEvent;
  dequeued: QueueDequeuedEvent<P>;
  rejected: QueueRejectedEvent;
}
