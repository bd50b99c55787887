/**
 * Stand-ins for a client's response that the proxy writes one answer to: a shared one that fans the
 * answer out to every client of a coalesced call (replaying what was sent so far to a late joiner), and
 * a captured one that keeps a whole answer in memory (a merged embedding call, split afterwards).
 */
import { EventEmitter } from "node:events";
import type { ResponseSink } from "./client-out.js";

interface Member {
  res: ResponseSink;
  requestId: string;
  onClose: () => void;
}

/**
 * One answer written once and sent to several clients. Never applies backpressure: the whole
 * transcript is kept anyway for late joiners, and a slow client must not hold back the others.
 * When the last client leaves before the end, it reports `close` like a dropped connection, so the
 * proxy aborts the upstream call and frees the instance's slot.
 */
export class SharedResponse extends EventEmitter implements ResponseSink {
  private head: { status: number; headers: Record<string, string> } | undefined;
  private readonly chunks: (string | Buffer)[] = [];
  private readonly members = new Set<Member>();
  private finished = false;
  private broken = false;
  get destroyed(): boolean {
    return this.broken;
  }

  get writableFinished(): boolean {
    return this.finished;
  }

  /** Whether another client may still join (the answer has not ended and someone still listens). */
  get joinable(): boolean {
    return !this.finished && !this.broken && this.members.size > 0;
  }

  /** Clients listening now. */
  get memberCount(): number {
    return this.members.size;
  }

  /** Status of the answer once its head went out. */
  get status(): number | undefined {
    return this.head?.status;
  }

  /** The instance that answered, once the head went out. */
  get instanceId(): string | undefined {
    return this.head?.headers["x-ollama-fleet-instance"];
  }

  /**
   * Adds a client: it first gets everything sent so far, then follows live. Returns the bytes replayed
   * to it, or undefined when it is too late to join (`first` admits the client that starts the call).
   */
  join(res: ResponseSink, requestId: string, first = false): number | undefined {
    if (this.finished || this.broken || (!first && this.members.size === 0)) return undefined;
    const member: Member = { res, requestId, onClose: () => this.leave(member) };
    res.on("close", member.onClose);
    this.members.add(member);
    let replayed = 0;
    if (this.head) {
      res.writeHead(this.head.status, this.headersFor(member));
      for (const chunk of this.chunks) {
        res.write(chunk);
        replayed += Buffer.byteLength(chunk);
      }
    }
    return replayed;
  }

  writeHead(status: number, headers: Record<string, string>): this {
    this.head = { status, headers };
    for (const m of this.live()) m.res.writeHead(status, this.headersFor(m));
    return this;
  }

  write(chunk: string | Buffer): boolean {
    this.chunks.push(chunk);
    for (const m of this.live()) m.res.write(chunk);
    return true;
  }

  end(chunk?: string | Buffer): this {
    if (this.finished || this.broken) return this;
    if (chunk !== undefined) this.chunks.push(chunk);
    this.finished = true;
    for (const m of this.live()) m.res.end(chunk);
    this.emit("close");
    return this;
  }

  destroy(): this {
    if (this.finished || this.broken) return this;
    this.broken = true;
    for (const m of this.live()) m.res.destroy();
    this.emit("close");
    return this;
  }

  private *live(): Iterable<Member> {
    for (const m of [...this.members]) if (!m.res.destroyed) yield m;
  }

  private headersFor(m: Member): Record<string, string> {
    return { ...this.head?.headers, "x-request-id": m.requestId };
  }

  private leave(member: Member): void {
    if (!this.members.delete(member)) return;
    member.res.off("close", member.onClose);
    if (this.members.size === 0 && !this.finished && !this.broken) {
      this.broken = true;
      this.emit("close");
    }
  }
}

/** A whole answer kept in memory; `done` settles when the proxy has ended or dropped it. */
export class CapturedResponse extends EventEmitter implements ResponseSink {
  status: number | undefined;
  headers: Record<string, string> = {};
  private readonly chunks: Buffer[] = [];
  private finished = false;
  private broken = false;
  private settle: () => void = () => {};
  /** Settles once the answer is complete or was dropped. */
  readonly done: Promise<void> = new Promise((resolve) => (this.settle = resolve));

  get destroyed(): boolean {
    return this.broken;
  }

  get writableFinished(): boolean {
    return this.finished;
  }

  /** The answer's body as text. */
  get text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }

  /** True when an answer was written in full. */
  get complete(): boolean {
    return this.finished && this.status !== undefined;
  }

  writeHead(status: number, headers: Record<string, string>): this {
    this.status = status;
    this.headers = headers;
    return this;
  }

  write(chunk: string | Buffer): boolean {
    this.chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    return true;
  }

  end(chunk?: string | Buffer): this {
    if (this.finished || this.broken) return this;
    if (chunk !== undefined) this.chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    this.finished = true;
    this.emit("close");
    this.settle();
    return this;
  }

  destroy(): this {
    if (this.finished || this.broken) return this;
    this.broken = true;
    this.emit("close");
    this.settle();
    return this;
  }

  /** Nobody wants the answer any more: reported as a dropped connection, so the proxy aborts. */
  abandon(): void {
    this.destroy();
  }
}
