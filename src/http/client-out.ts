/** The client side of a proxied answer: commits headers once, writes with backpressure, ends cleanly. */
import { once, type EventEmitter } from "node:events";
import { errorBody, type Dialect } from "./dialect.js";
import { GatewayError } from "../errors/catalog.js";

/**
 * What an answer is written to: the client's `ServerResponse`, or a stand-in that shares one answer
 * between several clients (request coalescing) or keeps it for splitting (embedding merging).
 */
export interface ResponseSink extends EventEmitter {
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: string | Buffer): boolean;
  end(chunk?: string | Buffer): unknown;
  destroy(): unknown;
  readonly destroyed: boolean;
  readonly writableFinished: boolean;
}

/** Writes one answer to one client. */
export class ClientOut {
  /** True once the status line went out: from then on errors must be written in the stream's framing. */
  committed = false;
  private readonly baseHeaders: Record<string, string>;

  constructor(
    private readonly res: ResponseSink,
    private readonly dialect: Dialect,
    requestId: string,
  ) {
    this.baseHeaders = { "x-request-id": requestId };
  }

  /** Sends the status line and headers of a streamed answer. */
  commitStream(contentType: string, instanceId: string): void {
    if (this.committed) return;
    this.committed = true;
    const headers: Record<string, string> = {
      ...this.baseHeaders,
      "content-type": contentType,
      "x-ollama-fleet-instance": instanceId,
    };
    if (contentType.startsWith("text/event-stream")) headers["cache-control"] = "no-cache";
    this.res.writeHead(200, headers);
  }

  /** Writes bytes of a committed stream, waiting for the client to drain when its buffer is full. */
  async write(text: string, signal: AbortSignal): Promise<void> {
    if (this.res.destroyed) return;
    if (!this.res.write(text)) await once(this.res, "drain", { signal });
  }

  /** Ends a committed stream, optionally with a last piece. */
  end(text?: string): void {
    if (this.res.destroyed) return;
    this.res.end(text);
  }

  /** Sends a whole answer in one write. */
  sendWhole(
    status: number,
    contentType: string,
    body: Buffer | string,
    instanceId: string | undefined,
  ): void {
    if (this.committed || this.res.destroyed) return;
    this.committed = true;
    const headers: Record<string, string> = {
      ...this.baseHeaders,
      "content-type": contentType,
      "content-length": String(Buffer.byteLength(body)),
    };
    if (instanceId) headers["x-ollama-fleet-instance"] = instanceId;
    this.res.writeHead(status, headers);
    this.res.end(body);
  }

  /** Sends an error as a whole answer in the caller's dialect (before anything was committed). */
  sendError(err: GatewayError): void {
    if (this.committed || this.res.destroyed) return;
    this.committed = true;
    const body = JSON.stringify(errorBody(this.dialect, err));
    const headers: Record<string, string> = {
      ...this.baseHeaders,
      "content-type": "application/json; charset=utf-8",
      "content-length": String(Buffer.byteLength(body)),
    };
    if (err.retryAfterSeconds !== undefined) headers["retry-after"] = String(err.retryAfterSeconds);
    this.res.writeHead(err.status, headers);
    this.res.end(body);
  }

  /** Ends a committed stream with an error in its own framing: a whole line, never a torn one. */
  endWithStreamError(message: string, framing: "ndjson" | "sse"): void {
    if (this.res.destroyed) return;
    if (!this.committed) {
      // Nothing was sent yet: a proper error answer is better than a 200 carrying an error.
      this.sendError(new GatewayError("upstream_error", message));
      return;
    }
    const body =
      framing === "sse"
        ? `data: ${JSON.stringify({ error: { message, type: "api_error", param: null, code: "upstream_error" } })}\n\n`
        : `${JSON.stringify({ error: message })}\n`;
    this.res.end(body);
  }

  /** Drops the connection (a whole answer broke after its headers: nothing valid can follow). */
  destroy(): void {
    this.res.destroy();
  }
}
