/**
 * The few Ollama calls the supervisor makes on its own instances: readiness (/api/version), what is on
 * disk (/api/tags) and loaded (/api/ps), pull, and load/unload through /api/generate with only `model`
 * and `keep_alive` (Ollama loads, or with keep_alive 0 unloads, and answers done_reason "load"/"unload").
 */
import { Agent, request } from "undici";
import { extractErrorMessage } from "../backend/backend-client.js";
import type { OllamaPsModel, OllamaTagModel } from "../backend/ollama-types.js";

/** An Ollama answer with an error status; `message` is Ollama's own `error` text. */
export class OllamaCallError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "OllamaCallError";
  }
}

/** Calls to one instance; `close()` drops its connections. */
export class OllamaAdmin {
  private readonly agent: Agent;

  constructor(readonly baseUrl: string) {
    // Short keep-alive: the process behind the port is replaced on every restart.
    this.agent = new Agent({ keepAliveTimeout: 1_000, connections: 8 });
  }

  private async call<T>(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<T> {
    const res = await request(`${this.baseUrl}${path}`, {
      method,
      dispatcher: this.agent,
      signal,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 400) throw new OllamaCallError(res.statusCode, extractErrorMessage(text));
    if (text.trim() === "") return {} as T;
    // A non-streaming answer is one JSON object; a streamed one (pull) ends with its last line.
    const lines = text.trim().split("\n");
    const last = JSON.parse(lines[lines.length - 1]!) as T & { error?: unknown };
    if (typeof last.error === "string") throw new OllamaCallError(500, last.error);
    return last;
  }

  /** GET /api/version; rejects unless the server answers 2xx. */
  async version(signal: AbortSignal): Promise<string | undefined> {
    return (await this.call<{ version?: string }>("GET", "/api/version", undefined, signal)).version;
  }

  /** Names of the models on disk. */
  async tags(signal: AbortSignal): Promise<OllamaTagModel[]> {
    return (
      (await this.call<{ models?: OllamaTagModel[] }>("GET", "/api/tags", undefined, signal)).models ?? []
    );
  }

  /** Loaded models. */
  async ps(signal: AbortSignal): Promise<OllamaPsModel[]> {
    return (await this.call<{ models?: OllamaPsModel[] }>("GET", "/api/ps", undefined, signal)).models ?? [];
  }

  /** Pulls a model and waits for the end (stream: false). */
  async pull(model: string, signal: AbortSignal): Promise<void> {
    await this.call("POST", "/api/pull", { model, stream: false }, signal);
  }

  /** Loads a model into memory; `keepAlive` as Ollama takes it ("5m", -1), undefined = the server's default. */
  async load(model: string, keepAlive: string | number | undefined, signal: AbortSignal): Promise<void> {
    const body: Record<string, unknown> = { model };
    if (keepAlive !== undefined) body.keep_alive = keepAliveJson(keepAlive);
    await this.call("POST", "/api/generate", body, signal);
  }

  /** Unloads a model at once (keep_alive 0). */
  async unload(model: string, signal: AbortSignal): Promise<void> {
    await this.call("POST", "/api/generate", { model, keep_alive: 0 }, signal);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * keep_alive as the API takes it: a number of seconds, or a Go duration string. OLLAMA_KEEP_ALIVE accepts
 * a bare "-1" or "300", but the API parses a string with time.ParseDuration, which rejects a unit-less
 * number, so numeric text goes as a number.
 */
export function keepAliveJson(value: string | number): string | number {
  if (typeof value === "number") return value;
  return /^[+-]?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
}
