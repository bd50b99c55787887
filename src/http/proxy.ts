/**
 * Forwards one inference request: places it on an instance (waiting in the admission queue when all
 * are full), retries on another instance while the client has received nothing, and continues a
 * broken generation on another instance when the client has already received part of it.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { RouteHints, Router, RouteResult } from "../backend/router-types.js";
import { fingerprintRequest } from "../routing/prompt-fingerprint.js";
import { GatewayError } from "../errors/catalog.js";
import type { Priority } from "../routing/types.js";
import type { TypedEmitter } from "../util/typed-emitter.js";
import { AnswerTail } from "./answer-tail.js";
import { ClientOut, type ResponseSink } from "./client-out.js";
import type { Dialect } from "./dialect.js";
import type { AttemptKind, GatewayEvents, RequestOutcome, UpstreamFailureKind } from "./gateway-events.js";
import { runGenerationAttempt } from "./generation-attempt.js";
import { assembleWhole, continuationOf, GenerationState, type GenerationKind } from "./generation.js";
import { runPassthroughAttempt } from "./passthrough-attempt.js";
import { RequestEvents } from "./request-events.js";
import type { InferenceEndpoint, ParsedInference } from "./request-body.js";

/** Settings the proxy reads. */
export interface ProxySettings {
  maxAttempts: number;
  firstTokenTimeoutMs: number;
  stallTimeoutMs: number;
  requestTimeoutMs: number;
  /** Compute prompt fingerprints for KV-cache affinity (EnableKvCacheSharing). */
  kvAffinity?: boolean;
}

/** What the proxy needs from the rest of the gateway. */
export interface ProxyDeps {
  router: Router;
  events: TypedEmitter<GatewayEvents>;
  settings: ProxySettings;
  now: () => number;
  logger: Logger;
  /** A number unique to each request within this gateway (events are keyed by it). */
  nextSeq: () => number;
}

/** One inference call as the HTTP edge hands it over. */
export interface InferenceCall {
  endpoint: InferenceEndpoint;
  dialect: Dialect;
  /** Upstream path, e.g. `/api/chat`. */
  path: string;
  parsed: ParsedInference;
  /** The exact bytes the client sent. */
  body: Buffer;
  priority: Priority;
}

/** The 404 text Ollama uses for a missing model on each endpoint. */
export function modelNotFoundMessage(endpoint: InferenceEndpoint | "show", model: string): string {
  return endpoint === "embed" || endpoint === "embeddings" || endpoint === "openai_embeddings"
    ? `model "${model}" not found, try pulling it first`
    : `model '${model}' not found`;
}

/** Reads `X-Priority: high|normal|low` (default normal). */
export function priorityOf(header: string | string[] | undefined): Priority {
  const v = (Array.isArray(header) ? header[0] : header)?.trim().toLowerCase();
  return v === "high" || v === "low" ? v : "normal";
}

const GENERATION_KINDS: Partial<Record<InferenceEndpoint, GenerationKind>> = {
  generate: "generate",
  chat: "chat",
  openai_chat: "openai_chat",
  openai_completions: "openai_completions",
};

interface Failure {
  instanceId: string;
  kind: UpstreamFailureKind;
  status: number | undefined;
  message: string;
}

/** Handles one inference request end to end; never throws after it has taken over the reply. */
export async function proxyInference(
  deps: ProxyDeps,
  call: InferenceCall,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  reply.hijack();
  await proxyToSink(deps, call, { requestId: String(request.id), headers: request.headers }, reply.raw);
}

/** The client a proxied answer is for: its request id and headers (trace context). */
export interface ProxyClient {
  requestId: string;
  headers: IncomingHttpHeaders;
}

/**
 * Proxies one call and writes its answer to `res`: the client's own response, or a shared or captured
 * one (coalescing, embedding merging); a `close` before the end aborts the call like a client leaving.
 */
export async function proxyToSink(
  deps: ProxyDeps,
  call: InferenceCall,
  client: ProxyClient,
  res: ResponseSink,
): Promise<void> {
  const { ev, startedMs, model } = RequestEvents.begin(deps, call, client);
  const out = new ClientOut(res, call.dialect, client.requestId);
  // One controller per request, aborted by a client that leaves or by the request deadline.
  const cancel = new AbortController();
  const signal = cancel.signal;
  const onClose = (): void => {
    if (!res.writableFinished) cancel.abort(new Error("client disconnected"));
  };
  res.on("close", onClose);
  const deadline = setTimeout(
    () => cancel.abort(new Error(`request deadline of ${deps.settings.requestTimeoutMs} ms passed`)),
    deps.settings.requestTimeoutMs,
  );

  const genKind = GENERATION_KINDS[call.endpoint];
  const state = genKind ? new GenerationState(genKind) : undefined;
  const hints: RouteHints | undefined =
    genKind && deps.settings.kvAffinity
      ? { fingerprint: fingerprintRequest(genKind, call.parsed.json) }
      : undefined;
  const tail = new AnswerTail("json");
  const tried = new Set<string>();
  const failures: Failure[] = [];
  let outcome: RequestOutcome = "ok";
  let status = 200;
  let instanceId: string | undefined;
  let ttftMs: number | undefined;

  try {
    for (let attempt = 1; attempt <= deps.settings.maxAttempts && !signal.aborted; attempt++) {
      let routed: RouteResult = deps.router.route(model, call.priority, tried, hints);
      if (routed.kind === "full")
        routed = await ev.queued(attempt, call.priority, () =>
          deps.router.admit(model, call.priority, tried, signal, hints),
        );
      if (routed.kind !== "placed") {
        if (failures.length === 0) throw noRouteError(call, routed);
        break;
      }
      const { instance, release } = routed.placement;
      tried.add(instance.id);
      instanceId = instance.id;
      const kind: AttemptKind = attempt === 1 ? "first" : state && state.tokens > 0 ? "failover" : "retry";
      ev.attemptStarted(
        attempt,
        kind,
        instance.id,
        routed.placement.affinity,
        hints?.fingerprint?.chars,
        routed.placement.startedLoad,
      );

      if (!state) {
        const r = await runPassthroughAttempt({
          instance,
          path: call.path,
          body: call.body,
          out,
          tail,
          signal,
          timeoutMs: deps.settings.requestTimeoutMs,
          now: deps.now,
        });
        release(r.outcome);
        ev.attemptEnded(attempt, kind, instance.id, r.outcome, r.status);
        if (r.kind === "complete") {
          status = r.status;
          ttftMs = r.outcome.ttftMs;
          outcome = status >= 400 ? "client_error" : "ok";
          return;
        }
        failures.push(failureOf(instance.id, r.outcome, r.status));
      } else {
        let upstream = upstreamRequest(call, state, attempt);
        if (!upstream.ok && !out.committed) {
          // The client has nothing yet: a generation that cannot be resumed is simply started again.
          state.reset();
          upstream = upstreamRequest(call, state, attempt);
        }
        if (!upstream.ok) {
          release({ ok: true, clientAborted: true });
          ev.attemptEnded(attempt, kind, instance.id, { ok: true, clientAborted: true }, undefined);
          out.endWithStreamError(`generation cannot continue: ${upstream.reason}`, framingOf(call));
          outcome = "stream_error";
          return;
        }
        const r = await runGenerationAttempt({
          instance,
          path: upstream.path,
          body: upstream.body,
          convertChatToGenerate: upstream.convertChatToGenerate,
          clientStream: call.parsed.stream,
          state,
          out,
          signal,
          firstTokenTimeoutMs: deps.settings.firstTokenTimeoutMs,
          stallTimeoutMs: deps.settings.stallTimeoutMs,
          startedMs,
          now: deps.now,
        });
        release(r.outcome);
        ev.attemptEnded(attempt, kind, instance.id, r.outcome, r.kind === "complete" ? 200 : r.status, {
          firstTokenMs: r.kind === "failed" ? r.firstTokenMs : undefined,
        });
        if (r.kind === "complete") {
          ttftMs = r.ttftMs;
          if (!call.parsed.stream) {
            const whole = assembleWhole(state, (deps.now() - startedMs) * 1e6);
            out.sendWhole(200, "application/json; charset=utf-8", JSON.stringify(whole), instance.id);
          } else {
            out.end();
          }
          return;
        }
        if (r.kind === "client_error") {
          status = r.status;
          outcome = "client_error";
          out.sendWhole(r.status, "application/json; charset=utf-8", r.body, instance.id);
          return;
        }
        failures.push(failureOf(instance.id, r.outcome, r.status));
        if (state.tokens > 0) state.beginContinuation();
      }
      const last = failures[failures.length - 1];
      if (last && !signal.aborted) {
        deps.events.emit("upstream-failure", {
          ...ev.ref,
          model,
          ...last,
          willRetry: attempt < deps.settings.maxAttempts,
        });
      }
    }
    if (signal.aborted) {
      outcome = "aborted";
      status = 499;
      out.destroy();
      return;
    }
    throw finalError(call, failures);
  } catch (err) {
    const gwErr = dialectError(
      call.dialect,
      err instanceof GatewayError
        ? err
        : new GatewayError("internal", "internal gateway error", { cause: err }),
    );
    const clientLeft = err instanceof GatewayError && err.code === "client_gone";
    if (clientLeft || (signal.aborted && !(err instanceof GatewayError && err.code !== "internal"))) {
      outcome = "aborted";
      status = 499;
      out.destroy();
    } else if (out.committed) {
      outcome = "stream_error";
      out.endWithStreamError(gwErr.message, framingOf(call));
    } else {
      status = gwErr.status;
      outcome =
        gwErr.code === "model_not_found"
          ? "client_error"
          : gwErr.code === "no_instance"
            ? "no_instance"
            : "upstream_error";
      out.sendError(gwErr);
    }
    if (gwErr.code === "internal") deps.logger.error({ err }, "proxy failed");
  } finally {
    clearTimeout(deadline);
    res.off("close", onClose);
    const stats = state ? undefined : tail.stats();
    const final = (state?.final ?? {}) as Record<string, unknown>;
    deps.events.emit("request-completed", {
      ...ev.ref,
      endpoint: call.endpoint,
      dialect: call.dialect,
      model,
      instanceId,
      status,
      outcome,
      attempts: tried.size,
      stream: call.parsed.stream,
      queueWaitMs: ev.queueWaitMs,
      ttftMs,
      totalMs: deps.now() - startedMs,
      promptTokens:
        stats?.promptTokens ??
        numOrUndefined(final.prompt_eval_count) ??
        numOrUndefined((state?.usage ?? {}).prompt_tokens),
      outputTokens: stats?.outputTokens ?? (state ? state.tokens : undefined),
    });
  }
}

/** Queue rejections: Ollama's 503 wording on /api, OpenAI's 429 on /v1 (both with Retry-After). */
function dialectError(dialect: Dialect, err: GatewayError): GatewayError {
  if (err.code !== "queue_full" && err.code !== "queue_timeout") return err;
  const retryAfterSeconds = err.retryAfterSeconds ?? 2;
  if (dialect === "openai")
    return new GatewayError(err.code, err.message, { status: 429, retryAfterSeconds });
  return new GatewayError(
    err.code,
    `server busy, please try again.  maximum pending requests exceeded (${err.message})`,
    {
      status: 503,
      retryAfterSeconds,
    },
  );
}

function numOrUndefined(v: unknown): number | undefined {
  return typeof v === "number" ? v : undefined;
}

function framingOf(call: InferenceCall): "ndjson" | "sse" {
  return call.dialect === "openai" ? "sse" : "ndjson";
}

function failureOf(
  instanceId: string,
  outcome: { failureKind?: UpstreamFailureKind | undefined; failureMessage?: string | undefined },
  status: number | undefined,
): Failure {
  return { instanceId, kind: outcome.failureKind ?? "other", status, message: outcome.failureMessage ?? "" };
}

/** The upstream request of an attempt: the client's body asking for a stream, or a continuation. */
function upstreamRequest(
  call: InferenceCall,
  state: GenerationState,
  attempt: number,
):
  | { ok: true; path: string; body: Buffer | string; convertChatToGenerate: boolean }
  | { ok: false; reason: string } {
  if (state.tokens === 0 || attempt === 1) {
    const json = call.parsed.json;
    if (call.dialect === "ollama") {
      // Streaming is Ollama's default: the client's own bytes can go as they are.
      if (json.stream === undefined || json.stream === true) {
        return { ok: true, path: call.path, body: call.body, convertChatToGenerate: false };
      }
      return {
        ok: true,
        path: call.path,
        body: JSON.stringify({ ...json, stream: true }),
        convertChatToGenerate: false,
      };
    }
    const wantsUsage =
      !call.parsed.stream || (json.stream_options as { include_usage?: boolean } | undefined)?.include_usage;
    const body = {
      ...json,
      stream: true,
      ...(wantsUsage ? { stream_options: { include_usage: true } } : {}),
    };
    return { ok: true, path: call.path, body: JSON.stringify(body), convertChatToGenerate: false };
  }
  const c = continuationOf(state, call.parsed.json);
  if (!c.ok) return c;
  return {
    ok: true,
    path: c.path,
    body: JSON.stringify(c.body),
    convertChatToGenerate: c.convertChatToGenerate,
  };
}

function noRouteError(call: InferenceCall, routed: Exclude<RouteResult, { kind: "placed" }>): GatewayError {
  if (routed.kind === "none" && routed.reason === "model_not_found") {
    return new GatewayError("model_not_found", modelNotFoundMessage(call.endpoint, call.parsed.model));
  }
  const detail = routed.kind === "none" ? routed.detail : "every instance is full";
  return new GatewayError("no_instance", `no instance available: ${detail}`, { retryAfterSeconds: 5 });
}

function finalError(call: InferenceCall, failures: Failure[]): GatewayError {
  const last = failures[failures.length - 1];
  if (failures.length > 0 && failures.every((f) => f.kind === "model_missing")) {
    return new GatewayError("model_not_found", modelNotFoundMessage(call.endpoint, call.parsed.model));
  }
  if (last?.status !== undefined && last.status >= 500 && last.status !== 503) {
    // Every instance failed with Ollama's own error (e.g. out of memory): pass its words on.
    return new GatewayError("upstream_error", last.message, { status: last.status });
  }
  const summary = failures.map((f) => `${f.instanceId}: ${f.message || f.kind}`).join("; ");
  return new GatewayError(
    "no_instance",
    `no instance could serve model '${call.parsed.model}' after ${failures.length} attempt(s): ${summary}`,
    { retryAfterSeconds: 2, status: 503 },
  );
}
