/**
 * KV-cache affinity (`EnableKvCacheSharing`): send a request to the instance most likely to hold the longest
 * prefix of its rendered prompt, unless that would overload it. The rule, pure and in order (docs/routing.md):
 * 0. Waiting for the holder: when the instance holding a useful prefix is merely full, the request waits for
 *    it (in the admission queue) rather than prefilling elsewhere, for at most the prefill time the hit saves
 *    (`holderToWaitFor` picks it; the router applies the time limit).
 * 1. Follow-up: a pool member holds a sequence the prompt extends as a whole (the conversation's own slot).
 *    The longest such match wins if it covers at least `minMatchRatio` of the prompt, unless its load ratio
 *    exceeds the least-loaded member's by more than `imbalanceThreshold` (the balance guard, after SGLang):
 *    then the balancer picks.
 * 2. New conversation (it extends no held sequence): Ollama forks it into the instance's least recently used
 *    idle slot, so it saves its shared prefix (a system prompt) but evicts that slot's conversation. Each
 *    member is worth the chunks it saves (when a useful match) minus the chunks of a *live* conversation it
 *    would evict (when every slot there holds one); the best wins (ties: the balancer's pick, then lower
 *    load), again under the balance guard. So a new conversation does not evict a live one while another
 *    instance has room (session spread), and `liveVictimChunks` tells the router when every choice would.
 */
import type { Candidate } from "./types.js";

/** Why the affinity rule chose an instance. */
export type AffinityReason = "prefix-match" | "balance-guard" | "session-spread" | "balancer";

/** Tuning of the affinity rule. */
export interface AffinityTuning {
  /** Share of the prompt's chunks a match must cover to count (0.1). */
  minMatchRatio: number;
  /** Largest load-ratio gap (inFlight ÷ capacity) over the least-loaded pool member a match may have (0.5). */
  imbalanceThreshold: number;
}

/** Defaults of the affinity rule. */
export const DEFAULT_AFFINITY_TUNING: AffinityTuning = { minMatchRatio: 0.1, imbalanceThreshold: 0.5 };

/** What the rule knows of one pool member beyond its Candidate. */
export interface AffinityView {
  /** Prompt chunks this instance's index holds. */
  matchChunks: number;
  /** Whether a held sequence is wholly a prefix of the prompt (a follow-up turn: it reuses that slot). */
  extendsSequence?: boolean;
  /** Sequences (sessions) its index holds for the model whose conversation is live. */
  liveSequences: number;
  /** Chunks of the live conversation a new one sent there would evict (0 or absent: none). */
  victimChunks?: number;
  /** Ms until its next idle live conversation stops counting as live (undefined: none). */
  nextStaleInMs?: number | undefined;
}

/** The rule's answer. */
export interface AffinityDecision {
  id: string;
  reason: AffinityReason;
  matchChunks: number;
}

const loadRatio = (c: Candidate): number => c.inFlight / Math.max(1, c.capacity);

const NO_VIEW: AffinityView = { matchChunks: 0, liveSequences: 0 };

/** Chunks of a live conversation a new one placed there would evict (0: it takes a free or stale slot). */
const evictedLiveChunks = (view: AffinityView): number => view.victimChunks ?? 0;

/**
 * Applies the affinity rule to a pool. `balancerPick` is what the configured strategy chose from the same
 * candidates (undefined when it chose none: then neither does this). Pure: same inputs, same answer.
 */
export function affinityPick(
  pool: readonly Candidate[],
  views: ReadonlyMap<string, AffinityView>,
  promptChunks: number,
  balancerPick: string | undefined,
  tuning: AffinityTuning = DEFAULT_AFFINITY_TUNING,
): AffinityDecision | undefined {
  if (balancerPick === undefined || pool.length === 0) return undefined;
  const view = (c: Candidate): AffinityView => views.get(c.id) ?? NO_VIEW;
  const picked = pool.find((c) => c.id === balancerPick);
  const useful = (chunks: number): boolean => chunks > 0 && chunks >= tuning.minMatchRatio * promptChunks;
  const minLoad = Math.min(...pool.map(loadRatio));
  const saved = (c: Candidate): number => (useful(view(c).matchChunks) ? view(c).matchChunks : 0);
  const guarded = (c: Candidate, d: AffinityDecision): AffinityDecision =>
    c.id !== balancerPick && loadRatio(c) - minLoad > tuning.imbalanceThreshold
      ? { id: balancerPick, reason: "balance-guard", matchChunks: picked ? saved(picked) : 0 }
      : d;

  // 1. Follow-up: the member whose slot this conversation extends, longest first.
  let own: Candidate | undefined;
  for (const c of pool) {
    if (!view(c).extendsSequence || !useful(view(c).matchChunks)) continue;
    const dm = own === undefined ? 1 : view(c).matchChunks - view(own).matchChunks;
    const dl = own === undefined ? 0 : loadRatio(c) - loadRatio(own);
    if (dm > 0 || (dm === 0 && (dl < 0 || (dl === 0 && c.id === balancerPick)))) own = c;
  }
  // No balance guard here: the pool holds only instances with a free slot, so the own slot cannot overload
  // its instance, while any other instance would both prefill the whole prompt and evict a conversation.
  if (own) return { id: own.id, reason: "prefix-match", matchChunks: view(own).matchChunks };

  // 2. New conversation: prefix it saves minus the live conversation it evicts.
  // Ties: more slots without a live conversation (room for the next ones), the balancer's pick, lower load.
  const worth = (c: Candidate): number => saved(c) - evictedLiveChunks(view(c));
  const room = (c: Candidate): number => c.capacity - view(c).liveSequences;
  let best = picked ?? (pool[0] as Candidate);
  for (const c of pool) {
    const dw = worth(c) - worth(best);
    const dr = room(c) - room(best);
    if (
      dw > 0 ||
      (dw === 0 && (dr > 0 || (dr === 0 && best.id !== balancerPick && loadRatio(c) < loadRatio(best))))
    )
      best = c;
  }
  const reason: AffinityReason =
    saved(best) > 0 ? "prefix-match" : best.id !== balancerPick ? "session-spread" : "balancer";
  return guarded(best, { id: best.id, reason, matchChunks: saved(best) });
}

/**
 * The chunks of a live conversation that placing a request on `decision` would evict, or undefined when it
 * evicts none: it does unless the request continues its own conversation's slot there, or the slot Ollama
 * would reuse there is free or holds no live conversation (session admission, docs/routing.md).
 */
export function liveVictimChunks(
  decision: AffinityDecision,
  views: ReadonlyMap<string, AffinityView>,
): number | undefined {
  const view = views.get(decision.id);
  if (!view || view.extendsSequence) return undefined;
  const chunks = evictedLiveChunks(view);
  return chunks > 0 ? chunks : undefined;
}

/**
 * The instance worth waiting for: among `holders` (instances running the model that could take the request
 * once a slot frees), the one holding the longest prefix, when that prefix is a useful match. Undefined
 * when none holds one.
 */
export function holderToWaitFor(
  holders: readonly Candidate[],
  views: ReadonlyMap<string, AffinityView>,
  promptChunks: number,
  tuning: AffinityTuning = DEFAULT_AFFINITY_TUNING,
): { id: string; matchChunks: number } | undefined {
  let best: { id: string; matchChunks: number } | undefined;
  for (const c of holders) {
    const m = views.get(c.id)?.matchChunks ?? 0;
    if (m > (best?.matchChunks ?? 0)) best = { id: c.id, matchChunks: m };
  }
  return best && best.matchChunks >= tuning.minMatchRatio * promptChunks ? best : undefined;
}
