/** Contracts of the gateway's admission queue. */
import type { Priority } from "../routing/types.js";

/** Why a queued request left the queue without being served. */
export type QueueRejection = "queue_full" | "queue_timeout" | "aborted" | "closed";

/** Depth of the queue by model and priority, for metrics and the admin API. */
export interface QueueStats {
  depth: number;
  capacity: number;
  byModel: Record<string, Record<Priority, number>>;
  enqueuedTotal: number;
  rejectedTotal: Record<QueueRejection, number>;
  /** Longest current wait in ms. */
  oldestWaitMs: number;
}
