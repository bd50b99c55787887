/**
 * An instance's output: lines split from its stdout/stderr, the pino level each deserves (Ollama logs
 * with Go's slog text format, `level=INFO`, and gin's `[GIN]` access lines), and the last lines kept for
 * the admin API and failure reasons.
 */

/** Pino levels an instance line can be logged at. */
export type LineLevel = "debug" | "info" | "warn" | "error";

/** One captured line. */
export interface CapturedLine {
  atMs: number;
  stream: "stdout" | "stderr";
  line: string;
}

/** The pino level of one Ollama log line: slog's level word, gin access lines at debug, else info. */
export function levelOfLine(line: string): LineLevel {
  const m = /\blevel=(DEBUG|INFO|WARN|WARNING|ERROR|TRACE)\b/i.exec(line);
  if (m) {
    const word = m[1]!.toUpperCase();
    if (word === "ERROR") return "error";
    if (word === "WARN" || word === "WARNING") return "warn";
    if (word === "INFO") return "info";
    return "debug";
  }
  // Per-request access lines would double the gateway's own request log.
  if (line.startsWith("[GIN]")) return "debug";
  return "info";
}

/** A bounded buffer of the last lines. */
export class LogTail {
  private readonly lines: CapturedLine[] = [];

  constructor(private readonly maxLines: number) {}

  push(line: CapturedLine): void {
    this.lines.push(line);
    if (this.lines.length > this.maxLines) this.lines.splice(0, this.lines.length - this.maxLines);
  }

  /** The last `n` lines (all kept ones by default), oldest first. */
  last(n = this.maxLines): CapturedLine[] {
    return this.lines.slice(-n);
  }

  /** The last line that looks like an error, for a failure reason. */
  lastError(): string | undefined {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const l = this.lines[i]!;
      if (levelOfLine(l.line) === "error" || /error|panic|fatal/i.test(l.line)) return l.line;
    }
    return undefined;
  }
}

/** Splits a byte stream into lines; a torn last line waits for the next chunk (bounded per line). */
export class LineSplitter {
  private pending = "";

  constructor(private readonly maxLineChars = 8192) {}

  push(chunk: string): string[] {
    this.pending += chunk;
    const parts = this.pending.split(/\r?\n/);
    this.pending = parts.pop() ?? "";
    // A runaway line without newline must not grow without bound.
    if (this.pending.length > this.maxLineChars) {
      parts.push(this.pending.slice(0, this.maxLineChars));
      this.pending = "";
    }
    return parts.filter((p) => p.length > 0).map((p) => p.slice(0, this.maxLineChars));
  }

  flush(): string[] {
    const rest = this.pending;
    this.pending = "";
    return rest.length > 0 ? [rest] : [];
  }
}
