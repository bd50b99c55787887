/**
 * What one instance's KV cache probably holds for one model: the prompts of its most recent sequences, as
 * chains of prefix hashes (see prompt-fingerprint.ts). It mirrors llama.cpp's slots: each parallel slot keeps
 * the KV of its last prompt, a new prompt goes to the slot sharing its longest prefix (and replaces it), and
 * otherwise to a free or the least recently used slot. So the index keeps at most `maxSequences` (the
 * instance's slots) and at most `maxChunks` hashes in all (its KV budget), dropping the least recently used.
 */

/** One remembered sequence: a slot's last prompt. */
interface Sequence {
  hashes: Set<number>;
  length: number;
  lastUsedMs: number;
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

  /** Chunks of `hashes` that some sequence already holds (the longest match). */
  match(hashes: readonly number[]): number {
    let best = 0;
    for (const seq of this.sequences) best = Math.max(best, matchLength(seq, hashes));
    return best;
  }

  /** Records that a prompt was sent here: it takes over the slot it matches best, else a new or LRU one. */
  record(hashes: readonly number[], nowMs: number): void {
    if (hashes.length === 0) return;
    const kept = hashes.slice(0, Math.max(1, this.limits.maxChunks));
    let bestIndex = -1;
    let bestMatch = 0;
    this.sequences.forEach((seq, i) => {
      const m = matchLength(seq, kept);
      if (m > bestMatch) {
        bestMatch = m;
        bestIndex = i;
      }
    });
    const fresh: Sequence = { hashes: new Set(kept), length: kept.length, lastUsedMs: nowMs };
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

  /** Forgets everything (the model was unloaded, or the instance restarted). */
  clear(): void {
    this.sequences.length = 0;
    this.chunks = 0;
  }

  /** Live sequences (≈ sessions whose context this instance holds). */
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
      let lru = 0;
      this.sequences.forEach((seq, i) => {
        if (seq.lastUsedMs < (this.sequences[lru] as Sequence).lastUsedMs) lru = i;
      });
      const [gone] = this.sequences.splice(lru, 1);
      this.chunks -= gone?.length ?? 0;
    }
  }
}
