/** The error a queued request is rejected with: a code the proxy maps to 503/429 and a readable message. */
import type { Priority } from "../routing/types.js";
import type { QueueRejection } from "./types.js";

/** Details of a queue rejection, for the error and the `rejected` event. */
export interface QueueErrorDetails {
  code: QueueRejection;
  model: string;
  priority: Priority;
  /** How long the request waited before it was rejected (0 for queue_full). */
  waitedMs: number;
}

/** Why a request left the admission queue unserved; `code` is stable, `message` is for people. */
export class QueueError extends Error {
  override readonly name = "QueueError";
  readonly code: QueueRejection;
  readonly model: string;
  readonly priority: Priority;
  readonly waitedMs: number;

  constructor(message: string, details: QueueErrorDetails) {
    super(message);
    this.code = details.code;
    this.model = details.model;
    this.priority = details.priority;
    this.waitedMs = details.waitedMs;
  }
}
