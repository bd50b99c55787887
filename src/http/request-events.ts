/**
 * The per-request side of the gateway's events: the proxy calls these one-liners at each step of a request
 * (start, queue wait, each attempt) and metrics, traces and logs subscribe; nothing here knows about them.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { AttemptOutcome, RouteResult } from "../backend/router-types.js";
import { GatewayError } from "../errors/catalog.js";
import { CHARS_PER_TOKEN } from "../routing/prompt-fingerprint.js";
import type { Priority } from "../routing/types.js";
import { normalizeModelName } from "../util/model-name.js";
import type { TypedEmitter } from "../util/typed-emitter.js";
import type { Dialect } from "./dialect.js";
import type { AttemptKind, GatewayEvents, RequestRef } from "./gateway-events.js";

/** What opening a request's events needs from the gateway. */
export interface RequestEventsDeps {
  events: TypedEmitter<GatewayEvents>;
  nextSeq: () => number;
  now: () => number;
}

/** Emits the lifecycle events of one request and keeps the figures its final event needs. */
export class RequestEvents {
  /**
   * Opens the events of a request that just arrived: a fresh sequence number, the normalised model and its
   * `request-started` event. Every entry point (proxy, coalescing, embedding merging) starts here.
   */
  static begin(
    deps: RequestEventsDeps,
    call: {
      endpoint: string;
      dialect: Dialect;
      priority: Priority;
      parsed: { model: string; stream: boolean };
    },
    client: { requestId: string; headers: IncomingHttpHeaders },
  ): { ev: RequestEvents; startedMs: number; model: string } {
    const startedMs = deps.now();
    const model = normalizeModelName(call.parsed.model);
    const ev = new RequestEvents(
      deps.events,
      { requestId: client.requestId, seq: deps.nextSeq() },
      model,
      deps.now,
    );
    ev.started({ ...call, stream: call.parsed.stream }, client.headers, startedMs);
    return { ev, startedMs, model };
  }

  /** Time spent in the admission queue so far, ms. */
  queueWaitMs = 0;
  private attemptStartedMs = 0;

  constructor(
    private readonly events: TypedEmitter<GatewayEvents>,
    readonly ref: RequestRef,
    private readonly model: string,
    private readonly now: () => number,
  ) {}

  /** The request arrived; carries the client's W3C trace context, if any. */
  started(
    call: { endpoint: string; dialect: Dialect; priority: Priority; stream: boolean },
    headers: IncomingHttpHeaders,
    atMs: number,
  ): void {
    this.events.emit("request-started", {
      ...this.ref,
      endpoint: call.endpoint,
      dialect: call.dialect,
      model: this.model,
      priority: call.priority,
      stream: call.stream,
      atMs,
      traceparent: headerText(headers.traceparent),
      tracestate: headerText(headers.tracestate),
    });
  }

  /** Runs the admission-queue wait and reports how long it took and whether it ended in a place. */
  async queued(attempt: number, priority: Priority, admit: () => Promise<RouteResult>): Promise<RouteResult> {
    const startedAtMs = this.now();
    let rejection: string | undefined = "internal";
    try {
      const routed = await admit();
      rejection = routed.kind === "placed" ? undefined : routed.kind;
      return routed;
    } catch (err) {
      rejection = err instanceof GatewayError ? err.code : "internal";
      throw err;
    } finally {
      const waitedMs = this.now() - startedAtMs;
      this.queueWaitMs += waitedMs;
      this.events.emit("queue-waited", {
        ...this.ref,
        model: this.model,
        priority,
        attempt,
        startedAtMs,
        waitedMs,
        admitted: rejection === undefined,
        rejection,
      });
    }
  }

  /** An attempt was placed on an instance; with KV affinity on, also reports the prefix-cache lookup. */
  attemptStarted(
    attempt: number,
    kind: AttemptKind,
    instanceId: string,
    affinity?: { reason: string; matchedTokens: number } | undefined,
    promptChars?: number | undefined,
    startedLoad = false,
  ): void {
    this.attemptStartedMs = this.now();
    if (affinity && promptChars) {
      this.events.emit("prefix-cache-lookup", {
        model: this.model,
        instanceId,
        hit: affinity.matchedTokens > 0,
        promptTokens: Math.round(promptChars / CHARS_PER_TOKEN),
        predictedCachedTokens: affinity.matchedTokens,
      });
    }
    this.events.emit("attempt-started", {
      ...this.ref,
      model: this.model,
      attempt,
      kind,
      instanceId,
      atMs: this.attemptStartedMs,
      routeReason: affinity?.reason,
      startedLoad,
    });
  }

  /** The attempt ended with this outcome (the one reported to the router). */
  attemptEnded(
    attempt: number,
    kind: AttemptKind,
    instanceId: string,
    outcome: AttemptOutcome,
    status: number | undefined,
    extra: { firstTokenMs?: number | undefined } = {},
  ): void {
    const atMs = this.now();
    this.events.emit("attempt-ended", {
      ...this.ref,
      model: this.model,
      attempt,
      kind,
      instanceId,
      atMs,
      durationMs: atMs - this.attemptStartedMs,
      ok: outcome.ok,
      failureKind: outcome.failureKind,
      status,
      message: outcome.failureMessage,
      firstTokenMs: outcome.ttftMs ?? extra.firstTokenMs,
      outputTokens: outcome.outputTokens,
      promptEvalCount: outcome.promptEvalCount,
      promptEvalMs: outcome.promptEvalMs,
      loadMs: outcome.loadDurationMs,
      decodeMs: outcome.decodeMs,
    });
  }
}

/** The first value of a header, or undefined. */
function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
