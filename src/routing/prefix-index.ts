/**
 * What one instance's KV cache probably holds for one model: the prompts of its most recent sequences, as
 * chains of prefix hashes (see prompt-fingerprint.ts). It mirrors Ollama's runner: each parallel slot keeps
 * the KV of its last prompt; a prompt that extends an idle slot's whole content continues in it, any other is
 * forked into a free or the least recently used idle slot (see `record` for the one exception). So the index
 * keeps at most `maxSequences` (the instance's slots) and at most `maxChunks` hashes in all (its KV budget).
 * It also knows which sequences belong to a live conversation (in flight, or answered within the liveness
 * window), which session admission protects.
 */

/** One remembered sequence: a slot's last prompt, and whether its conversation is still going on. */
interface Sequence {
  hashes: Set<number>;
  length: number;
  lastUsedMs: number;
  /** Requests of this sequence in flight (sent, not yet answered). */
  busy: number;
  /** When it was last sent, answered, or seen waiting for a slot (a follow-up turn). */
  activeAtMs: number;
  /** When its last answer ended, until the follow-up turn arrives (then the think time is known). */
  answeredAtMs: number | undefined;
}

/** Bounds of one index. */
export interface PrefixIndexLimits {
  /** Sequences kept: the instance's parallel slots. */
  maxSequences: number;
  /** Hashes kept in all sequences together: the KV budget in chunks. */
  maxChunks: number;
}

/** Longest prefix of `hashes` contained in a set built from chained hashes (contains(i) ⇒ contains(j<i)). */
function matchLength(seq: Sequence, hashes: readonly number[]): number {
  let lo = 0;
  let hi = Math.min(hashes.length, seq.length);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (seq.hashes.has(hashes[mid - 1] as number)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The approximate KV content of one instance × model. */
export class PrefixIndex {
  private readonly sequences: Sequence[] = [];
  private chunks = 0;

  constructor(private limits: PrefixIndexLimits) {}

  /** Changes the bounds (slots or budget changed), evicting at once if needed. */
  resize(limits: PrefixIndexLimits): void {
    this.limits = limits;
    this.enforce();
  }

  /**
   * Whether an idle held sequence is wholly a prefix of `hashes`: a follow-up turn that Ollama would run in
   * that slot. (A busy one cannot be taken over: the prompt would be forked into another slot.)
   */
  extends(hashes: readonly number[]): boolean {
    const seq = this.extended(hashes);
    return seq !== undefined && seq.busy === 0;
  }

  /** Chunks of `hashes` that some sequence already holds (the longest match). */
  match(hashes: readonly number[]): number {
    let best = 0;
    for (const seq of this.sequences) best = Math.max(best, matchLength(seq, hashes));
    return best;
  }

  /**
   * Records that a prompt was sent here. It takes over the slot whose whole content it extends (its
   * conversation's own, as Ollama's runner does). Otherwise it takes over the slot it shares the longest
   * prefix with, unless that one holds a live conversation (in flight, or answered less than `livenessMs`
   * ago): then, as the runner does, it is forked into a free or the least recently used idle slot and the
   * live conversation stays. Taking over the sharer keeps one sequence per shared prefix (agents of one
   * preamble), so a prefix stays on the instances that serve it instead of being spread by LRU order.
   */
  record(hashes: readonly number[], nowMs: number, livenessMs?: number): void {
    if (hashes.length === 0) return;
    const kept = hashes.slice(0, Math.max(1, this.limits.maxChunks));
    let taken = this.extended(kept);
    // A slot still answering an earlier request cannot be taken over: the prompt is forked elsewhere.
    if (taken && taken.busy > 0) taken = undefined;
    if (!taken) {
      let sharer: Sequence | undefined;
      let longest = 0;
      for (const seq of this.sequences) {
        const m = matchLength(seq, kept);
        if (m > longest) [sharer, longest] = [seq, m];
      }
      if (sharer && !this.isLive(sharer, nowMs, livenessMs)) taken = sharer;
    }
    const bestIndex = taken ? this.sequences.indexOf(taken) : -1;
    const fresh: Sequence = {
      hashes: new Set(kept),
      length: kept.length,
      lastUsedMs: nowMs,
      busy: 1,
      activeAtMs: nowMs,
      answeredAtMs: undefined,
    };
    if (bestIndex >= 0) {
      const old = this.sequences[bestIndex] as Sequence;
      this.chunks -= old.length;
      this.sequences[bestIndex] = fresh;
    } else {
      this.sequences.push(fresh);
    }
    this.chunks += fresh.length;
    this.enforce();
  }

  /**
   * A follow-up of a held sequence has arrived (it extends the whole sequence): the conversation is live.
   * Returns the client's think time (arrival − the previous answer's end) the first time it is seen.
   */
  touch(hashes: readonly number[], nowMs: number): number | undefined {
    const seq = this.extended(hashes);
    if (!seq) return undefined;
    seq.activeAtMs = Math.max(seq.activeAtMs, nowMs);
    const answeredAtMs = seq.answeredAtMs;
    seq.answeredAtMs = undefined;
    return answeredAtMs === undefined ? undefined : Math.max(0, nowMs - answeredAtMs);
  }

  /** The answer to a recorded prompt has ended: its slot is idle, the client is thinking. */
  finish(hashes: readonly number[], nowMs: number): void {
    const kept = hashes.slice(0, Math.max(1, this.limits.maxChunks));
    const seq = this.sequences.find((s) => s.length === kept.length && matchLength(s, kept) === s.length);
    if (!seq) return;
    seq.busy = Math.max(0, seq.busy - 1);
    seq.activeAtMs = nowMs;
    seq.answeredAtMs = nowMs;
  }

  /**
   * Sequences whose conversation is live: in flight, or answered (or seen waiting) less than `livenessMs`
   * ago. Without a liveness estimate (no follow-up turn seen yet) only those in flight count.
   */
  liveCount(nowMs: number, livenessMs: number | undefined): number {
    return this.sequences.filter((s) => this.isLive(s, nowMs, livenessMs)).length;
  }

  /** Ms until the next idle live sequence stops being live (undefined: none will, or no liveness yet). */
  nextStaleInMs(nowMs: number, livenessMs: number | undefined): number | undefined {
    if (livenessMs === undefined) return undefined;
    let next: number | undefined;
    for (const s of this.sequences) {
      const leftMs = s.activeAtMs + livenessMs - nowMs;
      if (s.busy === 0 && leftMs > 0 && (next === undefined || leftMs < next)) next = leftMs;
    }
    return next;
  }

  private isLive(seq: Sequence, nowMs: number, livenessMs: number | undefined): boolean {
    if (livenessMs === undefined) return false;
    return seq.busy > 0 || nowMs - seq.activeAtMs < livenessMs;
  }

  /**
   * Chunks of the live conversation a new sequence sent here would evict: Ollama forks it into the least
   * recently *sent* idle slot, which may hold a conversation still going on even while a stale one is held.
   * 0 while a slot is free or that victim is not live.
   */
  liveVictimChunks(nowMs: number, livenessMs: number | undefined): number {
    if (this.sequences.length < this.limits.maxSequences) return 0;
    const victim = this.sequences[this.victimIndex()];
    return victim && this.isLive(victim, nowMs, livenessMs) ? victim.length : 0;
  }

  /** The slot Ollama would reuse for a new sequence: the least recently used idle one (else the oldest). */
  private victimIndex(): number {
    const rank = (q: Sequence): number => (q.busy > 0 ? Number.MAX_SAFE_INTEGER / 2 : 0) + q.lastUsedMs;
    let victim = 0;
    this.sequences.forEach((seq, i) => {
      if (rank(seq) < rank(this.sequences[victim] as Sequence)) victim = i;
    });
    return victim;
  }

  /** The held sequence `hashes` extends as a whole (a follow-up turn of its conversation), if any. */
  private extended(hashes: readonly number[]): Sequence | undefined {
    let best: Sequence | undefined;
    for (const s of this.sequences) {
      if (s.length <= hashes.length && matchLength(s, hashes) === s.length && s.length > (best?.length ?? 0))
        best = s;
    }
    return best;
  }

  /** Forgets everything (the model was unloaded, or the instance restarted). */
  clear(): void {
    this.sequences.length = 0;
    this.chunks = 0;
  }

  /** Sequences held (≈ conversations whose context this instance holds, live or not). */
  get sequenceCount(): number {
    return this.sequences.length;
  }

  /** Hashes held in all sequences. */
  get chunkCount(): number {
    return this.chunks;
  }

  private enforce(): void {
    while (
      this.sequences.length > 0 &&
      (this.sequences.length > this.limits.maxSequences || this.chunks > this.limits.maxChunks)
    ) {
      // Ollama evicts the least recently used idle slot; the newest sequence (just recorded) is never it.
      const lru = this.victimIndex();
      const [gone] = this.sequences.splice(lru, 1);
      this.chunks -= gone?.length ?? 0;
    }
  }
}
