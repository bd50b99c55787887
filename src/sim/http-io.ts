/**
 * HTTP plumbing with Go's and gin's framing: JSON bodies with the Content-Types gin sets, NDJSON and
 * SSE streams, and a response writer that applies a request's faults as tokens go out.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FaultPlan } from "./faults.js";
import { goJson } from "./go-compat.js";

/** One request being answered. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  body: string;
  /** Whether the client left before the answer ended. */
  aborted: boolean;
  /** Whether a fault cut the connection (not counted as a client cancel). */
  faulted: boolean;
  /** The faults this request suffers (inference endpoints). */
  plan: FaultPlan;
  /** Runs `fn` if the client disconnects before the answer ends. */
  onAbort(fn: () => void): void;
}

/** gin's c.JSON: status, application/json; charset=utf-8, no trailing newline. */
export function sendJson(x: Exchange, status: number, value: unknown, trailingNewline = false): void {
  if (x.res.headersSent || x.res.destroyed) return;
  const text = goJson(value) + (trailingNewline ? "\n" : "");
  x.res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
  });
  x.res.end(text);
}

/** gin's c.String / default 404 and 405 bodies: text/plain. */
export function sendText(
  x: Exchange,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  if (x.res.headersSent || x.res.destroyed) return;
  const type = status === 404 || status === 405 ? "text/plain" : "text/plain; charset=utf-8";
  x.res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(text), ...headers });
  x.res.end(text);
}

/** An empty 200, as Ollama's copy and delete answer. */
export function sendEmpty(x: Exchange): void {
  if (x.res.headersSent || x.res.destroyed) return;
  x.res.writeHead(200, { "Content-Length": 0 });
  x.res.end();
}

/** How a dialect frames things: NDJSON lines for Ollama, SSE events for OpenAI. */
export interface Dialect {
  contentType: string;
  frame(value: unknown): string;
  /** The body of an error answer. */
  errorBody(status: number, message: string): unknown;
  /** What is written when an error interrupts a stream that already started. */
  midStreamError(message: string): string;
  /** Text that stands for one broken JSON line. */
  malformed(sample: unknown): string;
}

/** Ollama's native API: NDJSON lines, `{"error": ...}` bodies and stream lines. */
export const OLLAMA_DIALECT: Dialect = {
  contentType: "application/x-ndjson",
  frame: (v) => `${goJson(v)}\n`,
  errorBody: (_status, message) => ({ error: message }),
  midStreamError: (message) => `${goJson({ error: message })}\n`,
  malformed: (sample) => `${goJson(sample).slice(0, -7)}\n`,
};

/** What a writer needs to know about its request. */
export interface WriterHooks {
  dialect: Dialect;
  stream: boolean;
  plan: FaultPlan;
  /** OpenAI's encoder ends JSON bodies with a newline; gin's c.JSON does not. */
  jsonNewline?: boolean;
  /** Counts an error line inside a streamed 200. */
  countError(): void;
  crash(): void;
}

/**
 * Writes an inference answer: streamed frames as tokens arrive, or one JSON body at the end; applies
 * the request's fault plan after the planned number of tokens.
 */
export class AnswerWriter {
  private tokens = 0;
  private dead = false;
  private frozen = false;
  private cancelJob: (() => void) | null = null;
  private unflushed = 0;
  private onFlushed: (() => void)[] = [];

  constructor(
    private readonly x: Exchange,
    private readonly hooks: WriterHooks,
  ) {}

  /** Whether writes still reach the client. */
  get alive(): boolean {
    return !this.dead && !this.frozen && !this.x.aborted;
  }

  /** The job to cancel when a fault ends the answer early. */
  attach(cancel: () => void): void {
    this.cancelJob = cancel;
  }

  /** Called once before the first token: faults planned for "after 0 tokens" act here. */
  begin(): void {
    this.checkFaults(undefined);
  }

  /** One generated token; `frame` is what a stream writes for it (ignored without streaming). */
  token(frame: unknown): void {
    if (!this.alive) return;
    if (this.hooks.stream) {
      this.startStream();
      this.write(this.hooks.dialect.frame(frame));
    }
    this.tokens++;
    this.checkFaults(frame);
  }

  /** The end of a successful answer: the final frames (streaming) or the single body. */
  finish(frames: unknown[], trailer = ""): void {
    if (!this.alive) return;
    if (this.hooks.stream) {
      this.startStream();
      this.x.res.end(frames.map((f) => this.hooks.dialect.frame(f)).join("") + trailer);
    } else {
      sendJson(this.x, 200, frames[frames.length - 1], this.hooks.jsonNewline);
    }
    this.dead = true;
  }

  /** An error: a status and body when nothing was sent yet, else the dialect's error line. */
  fail(status: number, message: string): void {
    if (!this.alive) return;
    if (this.x.res.headersSent) {
      // An error status is counted when its answer ends; an error line inside a 200 is counted here.
      this.hooks.countError();
      this.x.res.end(this.hooks.dialect.midStreamError(message));
    } else sendJson(this.x, status, this.hooks.dialect.errorBody(status, message), this.hooks.jsonNewline);
    this.dead = true;
  }

  private write(text: string): void {
    this.unflushed++;
    this.x.res.write(text, () => {
      if (--this.unflushed === 0) for (const fn of this.onFlushed.splice(0)) fn();
    });
  }

  /** Runs `fn` once what was written reached the socket, so a reset or crash comes after those tokens. */
  private afterFlush(fn: () => void): void {
    if (this.unflushed === 0) fn();
    else this.onFlushed.push(fn);
  }

  private startStream(): void {
    if (this.x.res.headersSent) return;
    this.x.res.writeHead(200, { "Content-Type": this.hooks.dialect.contentType });
  }

  private checkFaults(sample: unknown): void {
    const p = this.hooks.plan;
    const n = this.tokens;
    if (p.crashAfter === n) {
      this.dead = true;
      this.afterFlush(() => this.hooks.crash());
      return;
    }
    if (p.resetAfter === n) {
      this.dead = true;
      this.x.faulted = true;
      this.cancelJob?.();
      this.afterFlush(() => this.x.res.destroy());
      return;
    }
    if (p.malformedAfter === n) {
      const text = this.hooks.dialect.malformed(sample ?? { model: "", created_at: "", done: false });
      if (this.hooks.stream) {
        this.startStream();
        this.write(text);
      } else {
        this.cancelJob?.();
        this.x.res.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
        this.x.res.end(text.trimEnd());
        this.dead = true;
        return;
      }
    }
    if (p.errorAfter === n) {
      this.cancelJob?.();
      this.fail(500, "an error was encountered while running the model: unexpected EOF");
      return;
    }
    if (p.hangAfter === n) this.frozen = true;
  }
}
