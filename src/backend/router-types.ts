/** The proxy's view of routing: pick an instance, wait for one, and report how an attempt went. */
import type { Instance } from "./instance.js";
import type { Priority } from "../routing/types.js";
import type { UpstreamFailureKind } from "../http/gateway-events.js";
import type { PromptFingerprint } from "../routing/prompt-fingerprint.js";
import type { AffinityReason } from "../routing/kv-affinity.js";

/** What routing may use beyond the model: the prompt's prefix hashes for KV-cache affinity. */
export interface RouteHints {
  fingerprint?: PromptFingerprint | undefined;
}

/** How one attempt on one instance ended, reported back so health, breakers and speed estimates learn. */
export interface AttemptOutcome {
  /** true: the instance did its job (the answer completed, or the client's own error was relayed). */
  ok: boolean;
  failureKind?: UpstreamFailureKind | undefined;
  failureMessage?: string | undefined;
  /** The client left: no verdict on the instance. */
  clientAborted?: boolean | undefined;
  ttftMs?: number | undefined;
  outputTokens?: number | undefined;
  decodeMs?: number | undefined;
  loadDurationMs?: number | undefined;
  /** Ollama's prompt_eval_count (cached + new prompt tokens). */
  promptEvalCount?: number | undefined;
  /** Ollama's prompt_eval_duration in ms (new tokens only). */
  promptEvalMs?: number | undefined;
}

/** A placed request: the instance, and the one call that frees its slot and reports the outcome. */
export interface Placement {
  instance: Instance;
  /** Why KV-cache affinity chose this instance and how much of the prompt it should hold; absent when off. */
  affinity?: { reason: AffinityReason; matchedTokens: number } | undefined;
  /** The model was not loaded on the instance when this request was sent there: it starts the load. */
  startedLoad?: boolean;
  release(outcome: AttemptOutcome): void;
}

/** What routing one request gave. */
export type RouteResult =
  | { kind: "placed"; placement: Placement }
  /** Instances can take the model but all are full: the request may wait in the queue. */
  | { kind: "full" }
  /** No instance has the model (404) or none is reachable (503). */
  | { kind: "none"; reason: "model_not_found" | "no_instance"; detail: string };

/** Role: places requests on instances. */
export interface Router {
  route(model: string, priority: Priority, exclude: ReadonlySet<string>, hints?: RouteHints): RouteResult;
  /** Waits in the admission queue until the request can be placed; rejects with a GatewayError. */
  admit(
    model: string,
    priority: Priority,
    exclude: ReadonlySet<string>,
    signal: AbortSignal,
    hints?: RouteHints,
  ): Promise<RouteResult>;
}

/** The outcome of a failed attempt; a failure after the client left is the client's doing, not the instance's. */
export function failedOutcome(
  kind: UpstreamFailureKind,
  message: string,
  signal: AbortSignal,
  outputTokens?: number,
): AttemptOutcome {
  return {
    ok: false,
    failureKind: signal.aborted ? "aborted" : kind,
    failureMessage: message,
    clientAborted: signal.aborted,
    ...(outputTokens !== undefined ? { outputTokens } : {}),
  };
}
