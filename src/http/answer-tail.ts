/**
 * Keeps the end of an answer that is streamed through, so the gateway can read Ollama's final
 * statistics (or OpenAI's usage) without buffering the whole answer.
 */

const TAIL_BYTES = 64 * 1024;

/** Token counts read from an answer's last object. */
export interface AnswerStats {
  promptTokens: number | undefined;
  outputTokens: number | undefined;
  /** Ollama's own `prompt_eval_duration` in ns, when present. */
  promptEvalDurationNs: number | undefined;
  loadDurationNs: number | undefined;
  doneReason: string | undefined;
}

/** Framing of an upstream answer. */
export type AnswerFraming = "ndjson" | "sse" | "json";

/** Collects the tail of a passing answer (or the whole of a small JSON one) and extracts its stats. */
export class AnswerTail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private overflow = false;

  constructor(private readonly framing: AnswerFraming) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.framing === "json") {
      // A whole JSON answer is needed to parse it; past 1 MiB (big embeddings) stats are skipped.
      if (this.bytes > 1024 * 1024) {
        this.overflow = true;
        this.chunks = [];
      }
      return;
    }
    while (this.chunks.length > 1 && this.bytes - (this.chunks[0]?.length ?? 0) >= TAIL_BYTES) {
      this.bytes -= this.chunks.shift()?.length ?? 0;
    }
  }

  stats(): AnswerStats {
    const empty: AnswerStats = {
      promptTokens: undefined,
      outputTokens: undefined,
      promptEvalDurationNs: undefined,
      loadDurationNs: undefined,
      doneReason: undefined,
    };
    if (this.overflow) return empty;
    const text = Buffer.concat(this.chunks).toString("utf8");
    const last = this.lastObject(text);
    if (!last) return empty;
    const usage = last.usage as Record<string, unknown> | undefined;
    if (usage && typeof usage === "object") {
      return {
        ...empty,
        promptTokens: num(usage.prompt_tokens),
        outputTokens: num(usage.completion_tokens),
      };
    }
    const choices = last.choices as { finish_reason?: unknown }[] | undefined;
    return {
      promptTokens: num(last.prompt_eval_count),
      outputTokens: num(last.eval_count),
      promptEvalDurationNs: num(last.prompt_eval_duration),
      loadDurationNs: num(last.load_duration),
      doneReason:
        typeof last.done_reason === "string"
          ? last.done_reason
          : typeof choices?.[0]?.finish_reason === "string"
            ? choices[0].finish_reason
            : undefined,
    };
  }

  private lastObject(text: string): Record<string, unknown> | undefined {
    if (this.framing === "json") return tryParse(text);
    const lines = text.split("\n");
    for (let i = lines.length - 1; i >= 0; i--) {
      let line = (lines[i] ?? "").trim();
      if (this.framing === "sse") {
        if (!line.startsWith("data:")) continue;
        line = line.slice(5).trim();
        if (line === "[DONE]") continue;
      }
      if (line === "") continue;
      const parsed = tryParse(line);
      if (parsed) return parsed;
    }
    return undefined;
  }
}

function tryParse(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === "object" ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
