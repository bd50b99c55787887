/**
 * Forwards one inference request to an instance that has its model, retrying on another instance
 * while the client has received nothing, then streams the answer through with backpressure.
 */
import { once } from "node:events";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { classifyTransportError, extractErrorMessage } from "../backend/backend-client.js";
import type { UpstreamResponse } from "../backend/backend-client.js";
import type { Fleet } from "../backend/fleet.js";
import type { Instance } from "../backend/instance.js";
import { GatewayError } from "../errors/catalog.js";
import { pickInstance, type RandomSource } from "../routing/select-instance.js";
import { normalizeModelName } from "../util/model-name.js";
import { AnswerTail, type AnswerFraming } from "./answer-tail.js";
import { errorBody, type Dialect } from "./dialect.js";
import type { GatewayEvents, RequestOutcome, UpstreamFailureKind } from "./gateway-events.js";
import type { InferenceEndpoint, ParsedInference } from "./request-body.js";
import type { TypedEmitter } from "../util/typed-emitter.js";

/** Settings the proxy reads. */
export interface ProxySettings {
  maxAttempts: number;
  firstTokenTimeoutMs: number;
  requestTimeoutMs: number;
}

/** What the proxy needs from the rest of the gateway. */
export interface ProxyDeps {
  fleet: Fleet;
  events: TypedEmitter<GatewayEvents>;
  settings: ProxySettings;
  random: RandomSource;
  now: () => number;
  logger: Logger;
}

/** One inference call as the HTTP edge hands it over. */
export interface InferenceCall {
  endpoint: InferenceEndpoint;
  dialect: Dialect;
  /** Upstream path, e.g. `/api/chat`. */
  path: string;
  parsed: ParsedInference;
  /** The exact bytes the client sent, forwarded unchanged. */
  body: Buffer;
}

/** The 404 text Ollama uses for a missing model on each endpoint. */
export function modelNotFoundMessage(endpoint: InferenceEndpoint | "show", model: string): string {
  return endpoint === "embed" || endpoint === "embeddings" || endpoint === "openai_embeddings"
    ? `model "${model}" not found, try pulling it first`
    : `model '${model}' not found`;
}

interface AttemptFailure {
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
  const startedMs = deps.now();
  const model = normalizeModelName(call.parsed.model);
  // One controller per request, aborted by a client that leaves or by the request deadline
  // (cheaper than AbortSignal.any + AbortSignal.timeout on this hot path).
  const cancel = new AbortController();
  const signal = cancel.signal;
  let clientLeft = false;
  const res = reply.raw;
  const onClose = (): void => {
    if (res.writableFinished) return;
    clientLeft = true;
    cancel.abort(new Error("client disconnected"));
  };
  res.on("close", onClose);
  const deadline = setTimeout(
    () => cancel.abort(new Error(`request deadline of ${deps.settings.requestTimeoutMs} ms passed`)),
    deps.settings.requestTimeoutMs,
  );
  const tried = new Set<string>();
  const failures: AttemptFailure[] = [];
  let outcome: RequestOutcome = "ok";
  let status = 200;
  let chosen: Instance | undefined;
  let ttftMs: number | undefined;
  const tail = new AnswerTail(framingOf(call));

  const finish = (): void => {
    clearTimeout(deadline);
    res.off("close", onClose);
    const stats = tail.stats();
    const totalMs = deps.now() - startedMs;
    deps.events.emit("request-completed", {
      requestId: String(request.id),
      endpoint: call.endpoint,
      dialect: call.dialect,
      model,
      instanceId: chosen?.id,
      status,
      outcome,
      attempts: tried.size,
      stream: call.parsed.stream,
      ttftMs,
      totalMs,
      promptTokens: stats.promptTokens,
      outputTokens: stats.outputTokens,
    });
  };

  try {
    for (let attempt = 1; attempt <= deps.settings.maxAttempts; attempt++) {
      const instance = await choose(deps, model, tried);
      if (!instance) break;
      tried.add(instance.id);
      chosen = instance;
      instance.inFlight++;
      instance.requestsTotal++;
      try {
        const result = await attemptOnce(deps, call, instance, signal, request, reply, tail, startedMs);
        if (result.kind === "done") {
          ttftMs = result.ttftMs;
          status = result.status;
          outcome = result.outcome;
          return;
        }
        failures.push(result.failure);
        const willRetry =
          attempt < deps.settings.maxAttempts && (await hasOtherCandidate(deps, model, tried));
        deps.events.emit("upstream-failure", {
          requestId: String(request.id),
          model,
          ...result.failure,
          willRetry,
        });
        if (clientLeft) {
          outcome = "aborted";
          status = 499;
          return;
        }
      } finally {
        instance.inFlight--;
      }
    }
    const err = finalError(call, model, failures, deps);
    status = err.status;
    outcome = failures.length === 0 && err.code === "no_instance" ? "no_instance" : "upstream_error";
    if (err.code === "model_not_found") outcome = "client_error";
    sendErrorRaw(reply, call.dialect, err, String(request.id));
  } finally {
    finish();
  }
}

type AttemptResult =
  | { kind: "done"; status: number; outcome: RequestOutcome; ttftMs: number | undefined }
  | { kind: "failed"; failure: AttemptFailure };

async function attemptOnce(
  deps: ProxyDeps,
  call: InferenceCall,
  instance: Instance,
  signal: AbortSignal,
  request: FastifyRequest,
  reply: FastifyReply,
  tail: AnswerTail,
  startedMs: number,
): Promise<AttemptResult> {
  const fail = (kind: UpstreamFailureKind, message: string, status?: number): AttemptResult => ({
    kind: "failed",
    failure: { instanceId: instance.id, kind, status, message },
  });
  let upstream: UpstreamResponse;
  try {
    upstream = await instance.client.request({
      method: "POST",
      path: call.path,
      body: call.body,
      signal,
      // A streamed answer's headers come with its first token; a whole answer's only at its end.
      headersTimeoutMs: call.parsed.stream
        ? deps.settings.firstTokenTimeoutMs
        : deps.settings.requestTimeoutMs,
      bodyTimeoutMs: deps.settings.firstTokenTimeoutMs,
    });
  } catch (err) {
    const kind = signal.aborted ? "aborted" : classifyTransportError(err);
    if (kind !== "aborted")
      deps.fleet.markFailure(instance, `${call.path}: ${kind}: ${(err as Error).message}`);
    return fail(kind, (err as Error).message);
  }

  if (upstream.statusCode >= 400) {
    const text = await upstream.body.text().catch(() => "");
    const message = extractErrorMessage(text);
    if (upstream.statusCode === 404 && /not found/i.test(message)) {
      // Our inventory was stale: the model left this instance. Forget it and try another one.
      instance.forgetModel(normalizeModelName(call.parsed.model));
      void deps.fleet.refresh(instance.id);
      return fail("model_missing", message, 404);
    }
    if (upstream.statusCode >= 500) {
      const kind: UpstreamFailureKind = upstream.statusCode === 503 ? "busy" : "http_5xx";
      if (kind === "http_5xx") instance.failuresTotal++;
      return fail(kind, message, upstream.statusCode);
    }
    // The instance judged the request itself bad (options, format...): that is the client's answer.
    sendRaw(reply, upstream.statusCode, upstream.headers, Buffer.from(text), request, instance);
    return { kind: "done", status: upstream.statusCode, outcome: "client_error", ttftMs: undefined };
  }

  // Wait for the first chunk before committing, so an instance that dies before answering is retried.
  const iterator = (upstream.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let first: IteratorResult<Buffer>;
  try {
    first = await iterator.next();
  } catch (err) {
    return brokenBeforeCommit(deps, call, instance, upstream, err, signal, fail);
  }

  const length = Number(upstream.headers["content-length"]);
  if (!call.parsed.stream && Number.isFinite(length) && length <= WHOLE_ANSWER_MAX_BYTES) {
    // A small whole answer is read to its end before the client sees a byte: one write to the
    // client, and an instance that breaks mid-body can still be retried elsewhere.
    const chunks: Buffer[] = first.done ? [] : [first.value];
    try {
      for (let next = await iterator.next(); !next.done; next = await iterator.next())
        chunks.push(next.value);
    } catch (err) {
      return brokenBeforeCommit(deps, call, instance, upstream, err, signal, fail);
    }
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    tail.push(body);
    reply.hijack();
    reply.raw.writeHead(upstream.statusCode, {
      "content-type": String(upstream.headers["content-type"] ?? "application/json; charset=utf-8"),
      "content-length": String(body.length),
      "x-request-id": String(request.id),
      "x-ollama-fleet-instance": instance.id,
    });
    reply.raw.end(body);
    return { kind: "done", status: upstream.statusCode, outcome: "ok", ttftMs: deps.now() - startedMs };
  }

  const res = reply.raw;
  reply.hijack();
  const headers: Record<string, string> = {
    "content-type": String(upstream.headers["content-type"] ?? "application/json; charset=utf-8"),
    "x-request-id": String(request.id),
    "x-ollama-fleet-instance": instance.id,
  };
  if (call.dialect === "openai" && call.parsed.stream) headers["cache-control"] = "no-cache";
  res.writeHead(upstream.statusCode, headers);
  const ttftMs = deps.now() - startedMs;
  try {
    if (!first.done) {
      tail.push(first.value);
      if (!res.write(first.value)) await once(res, "drain", { signal });
    }
    while (true) {
      const next = await iterator.next();
      if (next.done) break;
      tail.push(next.value);
      if (!res.write(next.value)) await once(res, "drain", { signal });
    }
    res.end();
    return { kind: "done", status: upstream.statusCode, outcome: "ok", ttftMs };
  } catch (err) {
    upstream.body.destroy();
    const kind = signal.aborted ? "aborted" : classifyTransportError(err);
    if (kind === "aborted") {
      res.destroy();
      return { kind: "done", status: 499, outcome: "aborted", ttftMs };
    }
    deps.fleet.markFailure(instance, `${call.path}: stream broke: ${(err as Error).message}`);
    writeStreamError(
      res,
      call,
      `upstream instance ${instance.id} failed mid-answer: ${(err as Error).message}`,
    );
    return { kind: "done", status: upstream.statusCode, outcome: "stream_error", ttftMs };
  }
}

/** Whole answers up to this size are read before the client sees them; larger ones stream through. */
const WHOLE_ANSWER_MAX_BYTES = 1024 * 1024;

function brokenBeforeCommit(
  deps: ProxyDeps,
  call: InferenceCall,
  instance: Instance,
  upstream: UpstreamResponse,
  err: unknown,
  signal: AbortSignal,
  fail: (kind: UpstreamFailureKind, message: string) => AttemptResult,
): AttemptResult {
  upstream.body.destroy();
  const kind = signal.aborted ? "aborted" : classifyTransportError(err);
  if (kind !== "aborted") deps.fleet.markFailure(instance, `${call.path}: ${kind} before first byte`);
  return fail(kind === "other" ? "stream_reset" : kind, (err as Error).message);
}

/** Ends a started answer with an error in its own framing (never a torn JSON line). */
function writeStreamError(res: FastifyReply["raw"], call: InferenceCall, message: string): void {
  if (!call.parsed.stream) {
    res.destroy();
    return;
  }
  const body =
    call.dialect === "openai"
      ? `\ndata: ${JSON.stringify({ error: { message, type: "api_error", param: null, code: "upstream_error" } })}\n\n`
      : `\n${JSON.stringify({ error: message })}\n`;
  res.end(body);
}

function framingOf(call: InferenceCall): AnswerFraming {
  if (!call.parsed.stream) return "json";
  return call.dialect === "openai" ? "sse" : "ndjson";
}

function candidatesFor(fleet: Fleet, model: string, tried: ReadonlySet<string>): Instance[] {
  return fleet
    .instances()
    .filter((i) => !tried.has(i.id) && i.health !== "unhealthy" && !i.draining && i.hasModel(model));
}

async function choose(
  deps: ProxyDeps,
  model: string,
  tried: ReadonlySet<string>,
): Promise<Instance | undefined> {
  let candidates = candidatesFor(deps.fleet, model, tried);
  if (candidates.length === 0 && tried.size === 0) {
    // Maybe the model arrived on an instance since the last refresh (pulled outside the gateway).
    await deps.fleet.refreshStale(1000);
    candidates = candidatesFor(deps.fleet, model, tried);
  }
  const id = pickInstance(
    candidates.map((i) => ({ id: i.id, inFlight: i.inFlight, loaded: i.isLoaded(model) })),
    deps.random,
  );
  return id === undefined ? undefined : deps.fleet.get(id);
}

async function hasOtherCandidate(
  deps: ProxyDeps,
  model: string,
  tried: ReadonlySet<string>,
): Promise<boolean> {
  return candidatesFor(deps.fleet, model, tried).length > 0;
}

function finalError(
  call: InferenceCall,
  model: string,
  failures: AttemptFailure[],
  deps: ProxyDeps,
): GatewayError {
  const reachable = deps.fleet.instances().filter((i) => i.health !== "unhealthy" && !i.draining);
  if (failures.length === 0) {
    if (reachable.length === 0) {
      const total = deps.fleet.instances().length;
      return new GatewayError("no_instance", `no instance available: 0 of ${total} instances are reachable`, {
        retryAfterSeconds: 5,
      });
    }
    return new GatewayError("model_not_found", modelNotFoundMessage(call.endpoint, call.parsed.model));
  }
  const last = failures[failures.length - 1];
  const summary = failures.map((f) => `${f.instanceId}: ${f.message || f.kind}`).join("; ");
  if (last && last.kind === "model_missing" && failures.every((f) => f.kind === "model_missing")) {
    return new GatewayError("model_not_found", modelNotFoundMessage(call.endpoint, call.parsed.model));
  }
  if (last?.status !== undefined && last.status >= 500 && last.status !== 503) {
    // Every instance failed with Ollama's own error (e.g. out of memory): pass its words on.
    return new GatewayError("upstream_error", last.message, { status: last.status });
  }
  return new GatewayError(
    "no_instance",
    `no instance could serve model '${call.parsed.model}' after ${failures.length} attempt(s): ${summary}`,
    { retryAfterSeconds: 2, status: 503 },
  );
}

/** Sends a complete error answer through the raw response (the reply may be hijacked already). */
function sendErrorRaw(reply: FastifyReply, dialect: Dialect, err: GatewayError, requestId: string): void {
  const res = reply.raw;
  if (res.headersSent || res.destroyed) return;
  reply.hijack();
  const headers: Record<string, string> = {
    "content-type": "application/json; charset=utf-8",
    "x-request-id": requestId,
  };
  if (err.retryAfterSeconds !== undefined) headers["retry-after"] = String(err.retryAfterSeconds);
  res.writeHead(err.status, headers);
  res.end(JSON.stringify(errorBody(dialect, err)));
}

function sendRaw(
  reply: FastifyReply,
  status: number,
  upstreamHeaders: UpstreamResponse["headers"],
  body: Buffer,
  request: FastifyRequest,
  instance: Instance,
): void {
  reply.hijack();
  reply.raw.writeHead(status, {
    "content-type": String(upstreamHeaders["content-type"] ?? "application/json; charset=utf-8"),
    "x-request-id": String(request.id),
    "x-ollama-fleet-instance": instance.id,
  });
  reply.raw.end(body);
}
