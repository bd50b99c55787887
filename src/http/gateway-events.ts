/** Typed events the HTTP layer emits; metrics, traces and logs subscribe to them. */
import type { TransportFailureKind } from "../backend/backend-client.js";
import type { Priority } from "../routing/types.js";
import type { Dialect } from "./dialect.js";

/** How a proxied request ended. */
export type RequestOutcome =
  "ok" | "client_error" | "upstream_error" | "no_instance" | "aborted" | "stream_error";

/** Why one upstream attempt failed. */
export type UpstreamFailureKind =
  TransportFailureKind | "http_5xx" | "busy" | "model_missing" | "stream_reset" | "malformed";

/**
 * Which request an event belongs to. `seq` is unique within one gateway; the request id is not always
 * (a client may send the same X-Request-Id twice), so subscribers that keep per-request state key by `seq`.
 */
export interface RequestRef {
  requestId: string;
  seq: number;
}

/** Why an attempt runs: the first, a retry before the client got anything, or a mid-answer failover. */
export type AttemptKind = "first" | "retry" | "failover";

/** Payloads of the gateway's events. */
export interface GatewayEvents {
  /** A proxied inference request arrived (emitted before routing). */
  "request-started": RequestRef & {
    endpoint: string;
    dialect: Dialect;
    model: string;
    priority: Priority;
    stream: boolean;
    atMs: number;
    /** W3C trace context the client sent, so the gateway's span can join the client's trace. */
    traceparent: string | undefined;
    tracestate: string | undefined;
  };
  /** The request waited in the admission queue (every instance was full), admitted or not. */
  "queue-waited": RequestRef & {
    model: string;
    priority: Priority;
    attempt: number;
    startedAtMs: number;
    waitedMs: number;
    admitted: boolean;
    /** Why it was not admitted (queue_full, queue_timeout, client_gone...). */
    rejection: string | undefined;
  };
  /** An attempt was placed on an instance and is about to call it. */
  "attempt-started": RequestRef & {
    model: string;
    attempt: number;
    kind: AttemptKind;
    instanceId: string;
    atMs: number;
    /** Why routing chose this instance, when the router says (e.g. a KV-affinity reason). */
    routeReason: string | undefined;
    /** The model was not loaded there: this attempt starts its load. */
    startedLoad: boolean;
  };
  /** An attempt ended; its Ollama statistics when the answer carried them. */
  "attempt-ended": RequestRef & {
    model: string;
    attempt: number;
    kind: AttemptKind;
    instanceId: string;
    atMs: number;
    durationMs: number;
    ok: boolean;
    failureKind: UpstreamFailureKind | undefined;
    status: number | undefined;
    message: string | undefined;
    /** Time from the attempt's start to its first token. */
    firstTokenMs: number | undefined;
    outputTokens: number | undefined;
    /** Ollama's prompt_eval_count (cached + new tokens in newer versions). */
    promptEvalCount: number | undefined;
    /** Ollama's prompt_eval_duration, ms (new tokens only). */
    promptEvalMs: number | undefined;
    /** Ollama's load_duration, ms. */
    loadMs: number | undefined;
    /** Ollama's eval_duration (decode time), ms, or the gateway's own measure without it. */
    decodeMs: number | undefined;
  };
  "request-completed": RequestRef & {
    endpoint: string;
    dialect: Dialect;
    model: string;
    instanceId: string | undefined;
    status: number;
    outcome: RequestOutcome;
    attempts: number;
    stream: boolean;
    /** Time spent in the admission queue, summed over attempts (0 when it never waited). */
    queueWaitMs: number;
    ttftMs: number | undefined;
    totalMs: number;
    promptTokens: number | undefined;
    outputTokens: number | undefined;
  };
  "upstream-failure": RequestRef & {
    instanceId: string;
    model: string;
    kind: UpstreamFailureKind;
    status: number | undefined;
    message: string;
    willRetry: boolean;
  };
  /** A KV-affinity lookup by routing: whether the chosen instance was expected to hold a prefix. */
  "prefix-cache-lookup": {
    model: string;
    instanceId: string;
    hit: boolean;
    /** Prompt tokens of the request (estimated). */
    promptTokens: number;
    /** Tokens the index predicted cached on the chosen instance. */
    predictedCachedTokens: number;
  };
  /** Concurrent embedding requests went upstream as one merged `/api/embed` call. */
  "embed-merged": {
    model: string;
    /** Client requests carried by the call. */
    members: number;
    /** Inputs of all members, and the distinct ones sent upstream. */
    inputs: number;
    uniqueInputs: number;
    instanceId: string | undefined;
    /** split: each member got its part; fallback: the call failed, each member went alone; abandoned: all left. */
    outcome: "split" | "fallback" | "abandoned";
  };
  /** A request joined an identical deterministic one in flight and shares its upstream call. */
  "request-coalesced": RequestRef & {
    endpoint: string;
    model: string;
    leaderRequestId: string;
    /** Bytes of the answer already sent when it joined, replayed to it first. */
    replayedBytes: number;
  };
}
