/** Splits an upstream answer body into NDJSON lines or SSE `data:` events as bytes arrive. */

/** Framing of a streamed upstream answer. */
export type EventFraming = "ndjson" | "sse";

/** One parsed upstream event: the raw text (to pass through unchanged) and its JSON, when it has one. */
export interface UpstreamEvent {
  raw: string;
  json: Record<string, unknown> | undefined;
  /** SSE's `data: [DONE]` terminator. */
  done: boolean;
}

/** Incremental splitter: feed chunks, get whole events; a torn last line waits for the next chunk. */
export class UpstreamEventParser {
  private pending = "";

  constructor(private readonly framing: EventFraming) {}

  push(chunk: Buffer): UpstreamEvent[] {
    this.pending += chunk.toString("utf8");
    const sep = this.framing === "ndjson" ? "\n" : "\n\n";
    const events: UpstreamEvent[] = [];
    let at: number;
    while ((at = this.pending.indexOf(sep)) !== -1) {
      const block = this.pending.slice(0, at);
      this.pending = this.pending.slice(at + sep.length);
      const event = this.parse(block);
      if (event) events.push(event);
    }
    return events;
  }

  /** Whatever is left when the body ends (an unterminated last line). */
  flush(): UpstreamEvent[] {
    const rest = this.pending;
    this.pending = "";
    const event = this.parse(rest);
    return event ? [event] : [];
  }

  private parse(block: string): UpstreamEvent | undefined {
    let text = block.trim();
    if (text === "") return undefined;
    if (this.framing === "sse") {
      const data = text
        .split("\n")
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart())
        .join("\n");
      if (data === "") return undefined;
      if (data === "[DONE]") return { raw: data, json: undefined, done: true };
      text = data;
    }
    try {
      const json = JSON.parse(text) as unknown;
      const obj = json !== null && typeof json === "object" ? (json as Record<string, unknown>) : undefined;
      return { raw: text, json: obj, done: false };
    } catch {
      // A malformed line: reported as an event without JSON, which the relay treats as a broken stream.
      return { raw: text, json: undefined, done: false };
    }
  }
}
