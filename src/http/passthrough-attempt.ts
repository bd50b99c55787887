/** One attempt of a non-generation call (embeddings) on one instance: read whole, then sent in one write. */
import { classifyTransportError, extractErrorMessage } from "../backend/backend-client.js";
import type { Instance } from "../backend/instance.js";
import { failedOutcome, type AttemptOutcome } from "../backend/router-types.js";
import type { AnswerTail } from "./answer-tail.js";
import type { ClientOut } from "./client-out.js";
import type { UpstreamFailureKind } from "./gateway-events.js";

/** How the attempt ended. */
export type PassthroughResult =
  | { kind: "complete"; status: number; outcome: AttemptOutcome }
  | { kind: "failed"; status: number | undefined; outcome: AttemptOutcome };

/** Forwards the body, reads the whole answer (so a break mid-body can still be retried), sends it. */
export async function runPassthroughAttempt(input: {
  instance: Instance;
  path: string;
  body: Buffer;
  out: ClientOut;
  tail: AnswerTail;
  signal: AbortSignal;
  timeoutMs: number;
  now: () => number;
}): Promise<PassthroughResult> {
  const { instance, signal } = input;
  const started = input.now();
  const failed = (kind: UpstreamFailureKind, message: string, status?: number): PassthroughResult => ({
    kind: "failed",
    status,
    outcome: failedOutcome(kind, message, signal),
  });
  try {
    const upstream = await instance.client.request({
      method: "POST",
      path: input.path,
      body: input.body,
      signal,
      headersTimeoutMs: input.timeoutMs,
      bodyTimeoutMs: input.timeoutMs,
    });
    const body = Buffer.from(await upstream.body.arrayBuffer());
    const contentType = String(upstream.headers["content-type"] ?? "application/json; charset=utf-8");
    if (upstream.statusCode >= 400) {
      const message = extractErrorMessage(body.toString("utf8"));
      if (upstream.statusCode === 404 && /not found/i.test(message))
        return failed("model_missing", message, 404);
      if (upstream.statusCode >= 500) {
        return failed(upstream.statusCode === 503 ? "busy" : "http_5xx", message, upstream.statusCode);
      }
    }
    input.tail.push(body);
    input.out.sendWhole(upstream.statusCode, contentType, body, instance.id);
    return {
      kind: "complete",
      status: upstream.statusCode,
      outcome: { ok: true, ttftMs: input.now() - started },
    };
  } catch (err) {
    const kind = signal.aborted ? "aborted" : classifyTransportError(err);
    return failed(kind === "other" ? "stream_reset" : kind, (err as Error).message);
  }
}
