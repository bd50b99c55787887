/** HTTP client for one upstream Ollama instance, on an undici connection pool. */
import { Pool, errors as undiciErrors } from "undici";
import type { Dispatcher } from "undici";

/** What an upstream answered: status, headers and a body streamed as it arrives. */
export interface UpstreamResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
}

/** One upstream call. */
export interface UpstreamRequest {
  method: "GET" | "POST" | "DELETE" | "HEAD";
  path: string;
  body?: Buffer | string | undefined;
  headers?: Record<string, string> | undefined;
  signal?: AbortSignal | undefined;
  /** Longest wait for the response headers (the first byte of an answer). */
  headersTimeoutMs?: number | undefined;
  /** Longest silence between two body chunks. */
  bodyTimeoutMs?: number | undefined;
}

/** Role: sends requests to one Ollama instance. */
export interface BackendClient {
  /** Base URL of the instance, e.g. `http://127.0.0.1:11434`. */
  readonly url: string;
  request(req: UpstreamRequest): Promise<UpstreamResponse>;
  /** A JSON request whose answer is read whole; throws UpstreamHttpError on a non-2xx status. */
  json<T>(req: UpstreamRequest): Promise<T>;
  close(): Promise<void>;
}

/** A non-2xx answer to a `json()` call, with Ollama's error text when it sent one. */
export class UpstreamHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly upstreamMessage: string,
  ) {
    super(`upstream answered ${statusCode}: ${upstreamMessage}`);
    this.name = "UpstreamHttpError";
  }
}

/** Kinds of transport failure, used for retry decisions and metrics. */
export type TransportFailureKind = "connect" | "timeout" | "reset" | "aborted" | "other";

/** Classifies an error thrown by undici (or by an abort) into a failure kind. */
export function classifyTransportError(err: unknown): TransportFailureKind {
  if (err instanceof undiciErrors.ConnectTimeoutError) return "connect";
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError)
    return "timeout";
  if (err instanceof undiciErrors.RequestAbortedError) return "aborted";
  const e = err as { code?: string; name?: string; cause?: { code?: string } } | undefined;
  const code = e?.code ?? e?.cause?.code;
  if (e?.name === "AbortError" || code === "ABORT_ERR") return "aborted";
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH" || code === "EAI_AGAIN")
    return "connect";
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE" || code === "UND_ERR_CLOSED")
    return "reset";
  if (code === "UND_ERR_CONNECT_TIMEOUT") return "connect";
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") return "timeout";
  return "other";
}

/** Options of an undici-backed client. */
export interface UndiciBackendClientOptions {
  connectTimeoutMs: number;
  /** Upper bound on sockets to this instance; requests beyond it wait in undici's queue. */
  connections?: number;
}

/** BackendClient on an undici Pool with keep-alive connections. */
export class UndiciBackendClient implements BackendClient {
  private readonly pool: Pool;

  constructor(
    readonly url: string,
    options: UndiciBackendClientOptions,
  ) {
    this.pool = new Pool(url, {
      connections: options.connections ?? 256,
      connect: { timeout: options.connectTimeoutMs },
      keepAliveTimeout: 30_000,
      pipelining: 1,
    });
  }

  async request(req: UpstreamRequest): Promise<UpstreamResponse> {
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined && headers["content-type"] === undefined)
      headers["content-type"] = "application/json";
    const res = await this.pool.request({
      method: req.method,
      path: req.path,
      body: req.body,
      headers,
      signal: req.signal,
      headersTimeout: req.headersTimeoutMs ?? 300_000,
      bodyTimeout: req.bodyTimeoutMs ?? 300_000,
    });
    return { statusCode: res.statusCode, headers: res.headers, body: res.body };
  }

  async json<T>(req: UpstreamRequest): Promise<T> {
    const res = await this.request(req);
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw new UpstreamHttpError(res.statusCode, extractErrorMessage(text));
    }
    return (text === "" ? {} : JSON.parse(text)) as T;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

/** Pulls Ollama's `{"error": "..."}` (or OpenAI's `{"error": {"message"}}`) text out of a body. */
export function extractErrorMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === "string") return parsed.error;
    if (parsed.error && typeof parsed.error === "object") {
      const msg = (parsed.error as { message?: unknown }).message;
      if (typeof msg === "string") return msg;
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.trim().slice(0, 500);
}
