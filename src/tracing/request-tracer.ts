/**
 * One span tree per proxied request, built from the gateway's typed events (the proxy makes no OTel call):
 *
 *   <operation> <model>         SERVER, the whole request
 *   ├─ queue wait               when every instance was full
 *   ├─ route                    per attempt: strategy, candidates, chosen instance, reason
 *   ├─ upstream                 CLIENT, the first attempt; event first_token
 *   ├─ route
 *   └─ upstream retry | upstream failover   later attempts (retry: nothing sent yet; failover: mid-answer)
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from "@opentelemetry/api";
import type { GatewayEvents } from "../http/gateway-events.js";
import type { TypedEmitter } from "../util/typed-emitter.js";
import type { RouteDescriber } from "./route-details.js";

/** gen_ai.operation.name of each endpoint (OpenTelemetry's GenAI conventions). */
const OPERATION: Record<string, string> = {
  generate: "text_completion",
  chat: "chat",
  openai_chat: "chat",
  openai_completions: "text_completion",
  embed: "embeddings",
  embeddings: "embeddings",
  openai_embeddings: "embeddings",
};

/** Outcomes that are the gateway's failure (a client's own 4xx is not an error of a server span). */
const FAILED_OUTCOMES = new Set(["upstream_error", "no_instance", "stream_error"]);

interface OpenRequest {
  root: Span;
  ctx: Context;
  startedMs: number;
  attempts: Map<number, { span: Span; startedMs: number }>;
}

/** Subscribes to the gateway's events and turns each request into spans; `close()` unsubscribes. */
export class RequestTracer {
  private readonly open = new Map<number, OpenRequest>();
  private readonly unsubscribe: Array<() => void>;

  constructor(
    private readonly tracer: Tracer,
    events: TypedEmitter<GatewayEvents>,
    private readonly describeRoute: RouteDescriber | undefined,
  ) {
    this.unsubscribe = [
      events.on("request-started", (e) => {
        const parent = remoteParent(e.traceparent);
        const root = tracer.startSpan(
          `${OPERATION[e.endpoint] ?? e.endpoint} ${e.model}`,
          {
            kind: SpanKind.SERVER,
            startTime: e.atMs,
            attributes: {
              "gen_ai.operation.name": OPERATION[e.endpoint] ?? e.endpoint,
              "gen_ai.request.model": e.model,
              "gen_ai.provider.name": "ollama",
              "ollama_fleet.request_id": e.requestId,
              "ollama_fleet.endpoint": e.endpoint,
              "ollama_fleet.dialect": e.dialect,
              "ollama_fleet.priority": e.priority,
              "ollama_fleet.stream": e.stream,
            },
          },
          parent,
        );
        this.open.set(e.seq, {
          root,
          ctx: trace.setSpan(ROOT_CONTEXT, root),
          startedMs: e.atMs,
          attempts: new Map(),
        });
      }),
      events.on("queue-waited", (e) => {
        const req = this.open.get(e.seq);
        if (!req) return;
        const span = tracer.startSpan(
          "queue wait",
          {
            startTime: e.startedAtMs,
            attributes: {
              "ollama_fleet.priority": e.priority,
              "ollama_fleet.attempt": e.attempt,
              "ollama_fleet.queue.admitted": e.admitted,
              ...(e.rejection ? { "ollama_fleet.queue.rejection": e.rejection } : {}),
            },
          },
          req.ctx,
        );
        if (!e.admitted)
          span.setStatus({ code: SpanStatusCode.ERROR, message: e.rejection ?? "not admitted" });
        span.end(e.startedAtMs + e.waitedMs);
      }),
      events.on("attempt-started", (e) => {
        const req = this.open.get(e.seq);
        if (!req) return;
        if (req.root.isRecording()) {
          const route: Attributes = {
            "ollama_fleet.attempt": e.attempt,
            "ollama_fleet.route.chosen_instance": e.instanceId,
          };
          const d = this.describeRoute?.(e.model, e.instanceId, e.routeReason);
          if (d) {
            route["ollama_fleet.route.strategy"] = d.strategy;
            route["ollama_fleet.route.candidates"] = d.candidates;
            route["ollama_fleet.route.eligible"] = d.eligible;
            route["ollama_fleet.route.reason"] = d.reason;
            if (d.residency) route["ollama_fleet.route.residency"] = d.residency;
            if (d.score !== undefined) route["ollama_fleet.route.score"] = d.score;
          } else if (e.routeReason) {
            route["ollama_fleet.route.reason"] = e.routeReason;
          }
          tracer.startSpan("route", { startTime: e.atMs, attributes: route }, req.ctx).end(e.atMs);
        }
        const name = e.kind === "first" ? "upstream" : `upstream ${e.kind}`;
        const span = tracer.startSpan(
          name,
          {
            kind: SpanKind.CLIENT,
            startTime: e.atMs,
            attributes: {
              "ollama_fleet.attempt": e.attempt,
              "ollama_fleet.attempt.kind": e.kind,
              "ollama_fleet.instance": e.instanceId,
            },
          },
          req.ctx,
        );
        req.attempts.set(e.attempt, { span, startedMs: e.atMs });
      }),
      events.on("attempt-ended", (e) => {
        const attempt = this.open.get(e.seq)?.attempts.get(e.attempt);
        if (!attempt) return;
        const { span } = attempt;
        if (e.firstTokenMs !== undefined) span.addEvent("first_token", attempt.startedMs + e.firstTokenMs);
        const attrs: Attributes = {};
        if (e.status !== undefined) attrs["http.response.status_code"] = e.status;
        if (e.outputTokens !== undefined) attrs["gen_ai.usage.output_tokens"] = e.outputTokens;
        if (e.promptEvalCount !== undefined) attrs["gen_ai.usage.input_tokens"] = e.promptEvalCount;
        if (e.loadMs !== undefined) attrs["ollama_fleet.ollama.load_ms"] = e.loadMs;
        if (e.promptEvalMs !== undefined) attrs["ollama_fleet.ollama.prompt_eval_ms"] = e.promptEvalMs;
        if (e.decodeMs !== undefined) attrs["ollama_fleet.ollama.eval_ms"] = e.decodeMs;
        span.setAttributes(attrs);
        if (!e.ok) {
          span.setAttribute("error.type", e.failureKind ?? "other");
          span.setStatus({ code: SpanStatusCode.ERROR, message: e.message ?? e.failureKind ?? "failed" });
        }
        span.end(e.atMs);
      }),
      events.on("request-completed", (e) => {
        const req = this.open.get(e.seq);
        if (!req) return;
        this.open.delete(e.seq);
        const { root } = req;
        if (e.ttftMs !== undefined) root.addEvent("first_token", req.startedMs + e.ttftMs);
        root.setAttributes({
          "http.response.status_code": e.status,
          "ollama_fleet.outcome": e.outcome,
          "ollama_fleet.attempts": e.attempts,
          "ollama_fleet.queue_wait_ms": e.queueWaitMs,
          ...(e.instanceId ? { "ollama_fleet.instance": e.instanceId } : {}),
          ...(e.ttftMs !== undefined ? { "ollama_fleet.ttft_ms": e.ttftMs } : {}),
          ...(e.promptTokens !== undefined ? { "gen_ai.usage.input_tokens": e.promptTokens } : {}),
          ...(e.outputTokens !== undefined ? { "gen_ai.usage.output_tokens": e.outputTokens } : {}),
        });
        if (FAILED_OUTCOMES.has(e.outcome)) {
          root.setAttribute("error.type", e.outcome);
          root.setStatus({ code: SpanStatusCode.ERROR, message: e.outcome });
        }
        // Attempts still open (a client that left mid-attempt) end with the request.
        for (const a of req.attempts.values())
          if (a.span.isRecording()) a.span.end(req.startedMs + e.totalMs);
        root.end(req.startedMs + e.totalMs);
      }),
    ];
  }

  /** The trace id of a request in progress (for log lines), if it is sampled. */
  traceIdOf(seq: number): string | undefined {
    const span = this.open.get(seq)?.root;
    return span?.isRecording() ? span.spanContext().traceId : undefined;
  }

  /** Unsubscribes and ends the spans of requests still in progress. */
  close(): void {
    for (const off of this.unsubscribe) off();
    for (const req of this.open.values()) req.root.end();
    this.open.clear();
  }
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The client's W3C trace context as a parent, or a fresh root when there is none or it is malformed. */
function remoteParent(traceparent: string | undefined): Context {
  const m = traceparent === undefined ? null : TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (!m || /^0+$/.test(m[1] ?? "") || /^0+$/.test(m[2] ?? "")) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: m[1] ?? "",
    spanId: m[2] ?? "",
    traceFlags: parseInt(m[3] ?? "0", 16) & 1,
    isRemote: true,
  });
}
