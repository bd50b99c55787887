/**
 * Merges the NDJSON progress streams of one pull (or create) running on several instances into one
 * stream that reads like a single Ollama pull: per-layer totals add up, each status line appears once,
 * and `success` comes only when every instance succeeded.
 */

/** One progress object as Ollama streams it. */
export interface ProgressLine {
  status?: string;
  digest?: string;
  total?: number;
  completed?: number;
  error?: string;
}

/** Accumulates progress from several sources and says which merged lines to emit. */
export class ProgressMerger {
  private readonly layers = new Map<string, Map<string, { total: number; completed: number }>>();
  private readonly statusesSent = new Set<string>();
  private readonly succeeded = new Set<string>();
  private readonly failed = new Map<string, string>();

  constructor(private readonly sources: readonly string[]) {}

  /** Feeds one line from one source; returns the merged line to emit, if any. */
  add(source: string, line: ProgressLine): ProgressLine | undefined {
    if (typeof line.error === "string") {
      this.failed.set(source, line.error);
      return undefined;
    }
    const status = line.status ?? "";
    if (status === "success") {
      this.succeeded.add(source);
      return undefined;
    }
    if (line.digest !== undefined && (line.total !== undefined || line.completed !== undefined)) {
      const perSource =
        this.layers.get(line.digest) ?? new Map<string, { total: number; completed: number }>();
      perSource.set(source, { total: line.total ?? 0, completed: line.completed ?? 0 });
      this.layers.set(line.digest, perSource);
      let total = 0;
      let completed = 0;
      for (const v of perSource.values()) {
        total += v.total;
        completed += v.completed;
      }
      return { status, digest: line.digest, total, completed };
    }
    if (this.statusesSent.has(status)) return undefined;
    this.statusesSent.add(status);
    return line;
  }

  /** Records a source that failed outside its stream (connect error, HTTP error). */
  fail(source: string, message: string): void {
    this.failed.set(source, message);
  }

  /** The closing line once every source has finished: success, or the failure(s) in words. */
  final(): ProgressLine {
    if (this.failed.size === 0 && this.succeeded.size === this.sources.length) return { status: "success" };
    const messages = [...new Set(this.failed.values())];
    if (this.failed.size === this.sources.length && messages.length === 1)
      return { error: messages[0] ?? "" };
    const missing = this.sources.filter((s) => !this.succeeded.has(s) && !this.failed.has(s));
    for (const s of missing) this.failed.set(s, "stream ended without success");
    const detail = [...this.failed.entries()].map(([s, m]) => `${s}: ${m}`).join("; ");
    return { error: `failed on ${this.failed.size} of ${this.sources.length} instances: ${detail}` };
  }
}
