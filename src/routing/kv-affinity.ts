/**
 * KV-cache affinity (`EnableKvCacheSharing`): send a request to the instance most likely to hold the longest
 * prefix of its rendered prompt, unless that would overload it. The rule, pure and in order (docs/routing.md):
 * 1. Prefix match: among the pool (eligible candidates of the best residency tier, as the balancer sees them)
 *    take the one whose index holds the longest prefix (ties: lower load, then the balancer's pick). If it
 *    holds at least `minMatchRatio` of the prompt, it wins, unless its load ratio exceeds the least-loaded
 *    member's by more than `imbalanceThreshold` (the balance guard, after SGLang): then the balancer picks.
 * 0. Waiting for the holder: when the instance holding a useful prefix is merely full, the request waits for
 *    it (in the admission queue) rather than prefilling elsewhere, for at most the prefill time the hit saves
 *    (`holderToWaitFor` picks it; the router applies the time limit).
 * 2. New session (no useful match): the balancer's pick, unless that instance already holds as many live
 *    sequences as it has slots while another pool member has room: then the one with the most room, so a new
 *    conversation does not evict a live one's cache (keep no more live sessions on an instance than slots).
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
  /** Sequences (sessions) its index holds for the model. */
  liveSequences: number;
}

/** The rule's answer. */
export interface AffinityDecision {
  id: string;
  reason: AffinityReason;
  matchChunks: number;
}

const loadRatio = (c: Candidate): number => c.inFlight / Math.max(1, c.capacity);

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
  const view = (c: Candidate): AffinityView => views.get(c.id) ?? { matchChunks: 0, liveSequences: 0 };
  const picked = pool.find((c) => c.id === balancerPick);
  const fallback = { id: balancerPick, matchChunks: picked ? view(picked).matchChunks : 0 };

  let best: Candidate | undefined;
  for (const c of pool) {
    if (best === undefined) best = c;
    else {
      const dm = view(c).matchChunks - view(best).matchChunks;
      const dl = loadRatio(c) - loadRatio(best);
      if (dm > 0 || (dm === 0 && (dl < 0 || (dl === 0 && c.id === balancerPick)))) best = c;
    }
  }
  const bestMatch = best ? view(best).matchChunks : 0;
  if (best && bestMatch > 0 && bestMatch >= tuning.minMatchRatio * promptChunks) {
    const minLoad = Math.min(...pool.map(loadRatio));
    if (loadRatio(best) - minLoad > tuning.imbalanceThreshold) {
      return { ...fallback, reason: "balance-guard" };
    }
    return { id: best.id, reason: "prefix-match", matchChunks: bestMatch };
  }
  if (picked && view(picked).liveSequences >= picked.capacity) {
    let roomiest: Candidate | undefined;
    let mostRoom = 0;
    for (const c of pool) {
      const room = c.capacity - view(c).liveSequences;
      if (
        room > mostRoom ||
        (room === mostRoom && roomiest && room > 0 && loadRatio(c) < loadRatio(roomiest))
      ) {
        roomiest = c;
        mostRoom = room;
      }
    }
    if (roomiest)
      return { id: roomiest.id, reason: "session-spread", matchChunks: view(roomiest).matchChunks };
  }
  return { ...fallback, reason: "balancer" };
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
