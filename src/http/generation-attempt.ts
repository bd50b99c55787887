/**
 * One attempt of a generation on one instance: the upstream is always asked to stream, so a stalled
 * instance is caught by the first-token and stall timeouts even when the client wants one JSON answer;
 * the stream is relayed to the client as it arrives, or assembled into that one answer.
 */
import { classifyTransportError, extractErrorMessage } from "../backend/backend-client.js";
import type { Instance } from "../backend/instance.js";
import { failedOutcome, type AttemptOutcome } from "../backend/router-types.js";
import type { ClientOut } from "./client-out.js";
import type { UpstreamFailureKind } from "./gateway-events.js";
import { chatChunkAsGenerate, patchFinal, patchUsage, type GenerationState } from "./generation.js";
import { UpstreamEventParser } from "./upstream-events.js";

/** Everything one attempt needs. */
export interface GenerationAttemptInput {
  instance: Instance;
  path: string;
  body: Buffer | string;
  /** The continuation talks /api/chat but the client expects /api/generate chunks. */
  convertChatToGenerate: boolean;
  /** Client asked for a stream (else the answer is assembled). */
  clientStream: boolean;
  state: GenerationState;
  out: ClientOut;
  signal: AbortSignal;
  firstTokenTimeoutMs: number;
  stallTimeoutMs: number;
  startedMs: number;
  now: () => number;
}

/** How the attempt ended. */
export type GenerationAttemptResult =
  | { kind: "complete"; outcome: AttemptOutcome; ttftMs: number | undefined }
  /** The upstream answered with the client's own error (4xx): relay it, no retry. */
  | { kind: "client_error"; status: number; body: string; outcome: AttemptOutcome }
  | {
      kind: "failed";
      outcome: AttemptOutcome;
      status: number | undefined;
      /** Time from the attempt's start to its first token, when tokens flowed before it broke (for traces). */
      firstTokenMs: number | undefined;
    };

/** Runs one attempt; never throws. */
export async function runGenerationAttempt(input: GenerationAttemptInput): Promise<GenerationAttemptResult> {
  const { instance, state, out, signal } = input;
  const sse = state.kind === "openai_chat" || state.kind === "openai_completions";
  const attemptStart = input.now();
  let firstEventAt: number | undefined;
  const tokensAtStart = state.tokens;
  const failed = (kind: UpstreamFailureKind, message: string, status?: number): GenerationAttemptResult => ({
    kind: "failed",
    status,
    outcome: failedOutcome(kind, message, signal, state.tokens - tokensAtStart),
    firstTokenMs: firstEventAt === undefined ? undefined : firstEventAt - attemptStart,
  });

  let upstream;
  try {
    upstream = await instance.client.request({
      method: "POST",
      path: input.path,
      body: input.body,
      signal,
      headersTimeoutMs: input.firstTokenTimeoutMs,
      bodyTimeoutMs: input.stallTimeoutMs,
    });
  } catch (err) {
    return failed(signal.aborted ? "aborted" : classifyTransportError(err), (err as Error).message);
  }
  if (upstream.statusCode >= 400) {
    const text = await upstream.body.text().catch(() => "");
    const message = extractErrorMessage(text);
    if (upstream.statusCode === 404 && /not found/i.test(message))
      return failed("model_missing", message, 404);
    if (upstream.statusCode >= 500) {
      return failed(upstream.statusCode === 503 ? "busy" : "http_5xx", message, upstream.statusCode);
    }
    return { kind: "client_error", status: upstream.statusCode, body: text, outcome: { ok: true } };
  }

  const parser = new UpstreamEventParser(sse ? "sse" : "ndjson");
  let finished = false;
  try {
    for await (const chunk of upstream.body as AsyncIterable<Buffer>) {
      let piece = "";
      let broken: StreamBroken | undefined;
      for (const ev of parser.push(chunk)) {
        if (finished || broken) continue;
        if (ev.done) {
          finished = true;
          if (input.clientStream) piece += "data: [DONE]\n\n";
          continue;
        }
        // A bad line ends this attempt, but the good lines before it in the chunk still go out:
        // they are in `state` already, and the continuation starts after them.
        if (!ev.json) {
          broken = new StreamBroken("malformed", `malformed line from upstream: ${ev.raw.slice(0, 80)}`);
          continue;
        }
        if (typeof ev.json.error === "string" || (ev.json.error && typeof ev.json.error === "object")) {
          broken = new StreamBroken(
            "stream_reset",
            `upstream error mid-answer: ${extractErrorMessage(ev.raw)}`,
          );
          continue;
        }
        firstEventAt ??= input.now();
        let obj = input.convertChatToGenerate ? chatChunkAsGenerate(ev.json) : ev.json;
        const changed = input.convertChatToGenerate || state.tokensBefore > 0;
        if (sse && state.tokensBefore > 0 && state.first) obj = { ...obj, id: state.first.id };
        state.absorb(obj);
        if (!sse && obj.done === true) finished = true;
        if (!input.clientStream) continue;
        if (!sse) {
          const final =
            obj.done === true ? patchFinal(state, obj, (input.now() - input.startedMs) * 1e6) : obj;
          piece += changed || final !== obj ? `${JSON.stringify(final)}\n` : `${ev.raw}\n`;
        } else {
          const patched =
            obj.usage && typeof obj.usage === "object"
              ? { ...obj, usage: patchUsage(state, obj.usage as Record<string, unknown>) }
              : obj;
          piece +=
            changed || patched !== obj ? `data: ${JSON.stringify(patched)}\n\n` : `data: ${ev.raw}\n\n`;
        }
      }
      if (piece !== "") {
        out.commitStream(sse ? "text/event-stream" : "application/x-ndjson", instance.id);
        await out.write(piece, signal);
      }
      if (broken) throw broken;
    }
    for (const ev of parser.flush()) {
      if (ev.json?.done === true && !sse) {
        state.absorb(ev.json);
        finished = true;
        if (input.clientStream) {
          out.commitStream("application/x-ndjson", instance.id);
          await out.write(
            `${JSON.stringify(patchFinal(state, ev.json, (input.now() - input.startedMs) * 1e6))}\n`,
            signal,
          );
        }
      }
    }
    if (!finished)
      throw new StreamBroken("stream_reset", "upstream ended the answer without its final object");
  } catch (err) {
    upstream.body.destroy();
    if (err instanceof StreamBroken) return failed(err.kind, err.message);
    const kind = signal.aborted ? "aborted" : classifyTransportError(err);
    return failed(kind === "other" ? "stream_reset" : kind, (err as Error).message);
  }
  const finalStats = (state.final ?? {}) as Record<string, unknown>;
  const loadNs = typeof finalStats.load_duration === "number" ? finalStats.load_duration : undefined;
  // Ollama's own eval_count/eval_duration measure decode speed without network or queueing noise.
  const evalCount = typeof finalStats.eval_count === "number" ? finalStats.eval_count : undefined;
  const evalNs = typeof finalStats.eval_duration === "number" ? finalStats.eval_duration : undefined;
  return {
    kind: "complete",
    ttftMs: firstEventAt === undefined ? undefined : firstEventAt - input.startedMs,
    outcome: {
      ok: true,
      ttftMs: firstEventAt === undefined ? undefined : firstEventAt - attemptStart,
      outputTokens: evalCount ?? state.tokens - tokensAtStart,
      decodeMs:
        evalNs !== undefined
          ? evalNs / 1e6
          : firstEventAt === undefined
            ? undefined
            : input.now() - firstEventAt,
      loadDurationMs: loadNs === undefined ? undefined : loadNs / 1e6,
      promptEvalCount:
        typeof finalStats.prompt_eval_count === "number" ? finalStats.prompt_eval_count : undefined,
      promptEvalMs:
        typeof finalStats.prompt_eval_duration === "number"
          ? finalStats.prompt_eval_duration / 1e6
          : undefined,
    },
  };
}

class StreamBroken extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
  ) {
    super(message);
  }
}
