/**
 * KV-cache affinity at placement time (docs/routing.md): which busy instance is worth waiting for, which
 * free one to choose, and what to record and learn afterwards. The decisions are the pure rules of
 * src/routing/kv-affinity.ts; this class feeds them the prefix index and the clock.
 */
import type { AffinityInstanceInfo, AffinityStore } from "../routing/affinity-store.js";
import {
  affinityPick,
  holderToWaitFor,
  type AffinityDecision,
  type AffinityTuning,
  type AffinityView,
} from "../routing/kv-affinity.js";
import { chunksToTokens, type PromptFingerprint } from "../routing/prompt-fingerprint.js";
import { isEligible, type Candidate } from "../routing/types.js";
import type { AttemptOutcome } from "./router-types.js";

/**
 * How long a request has waited for the instance holding its prefix *while another could have taken it*:
 * waiting while every instance is full costs nothing a miss would have saved, so that time does not count.
 */
export interface AffinityWait {
  firstAlternativeAtMs: number | undefined;
}

/** The instance worth waiting for, and for how long (the prefill time the hit saves), if any. */
export interface AffinityHolder {
  affinityTarget: string | undefined;
  affinityWaitMs: number;
}

/** What the placement needs besides the prefix index. */
export interface AffinityPlacementDeps {
  store: AffinityStore;
  tuning: AffinityTuning;
  /** Slots and memory limit of an instance, to size its index. */
  sizing: (c: Candidate) => AffinityInstanceInfo;
  now: () => number;
}

const NO_HOLDER: AffinityHolder = { affinityTarget: undefined, affinityWaitMs: 0 };

/** Instances running the model that could take the request once a slot frees. */
const holdersOf = (candidates: readonly Candidate[]): Candidate[] =>
  candidates.filter((c) => c.residency === "hot" && isEligible({ ...c, inFlight: 0 }));

/** Affinity decisions for one router. */
export class AffinityPlacement {
  constructor(private readonly deps: AffinityPlacementDeps) {}

  /** The instance running the model that holds a useful prefix of the prompt (busy or not). */
  holder(model: string, candidates: readonly Candidate[], fp: PromptFingerprint | undefined): AffinityHolder {
    if (!fp || fp.hashes.length === 0) return NO_HOLDER;
    const holders = holdersOf(candidates);
    return this.holderFrom(model, holders, this.views(model, holders, fp), fp);
  }

  /**
   * The placement decision with a prompt: "wait" to leave the request for its busy holder, else the affinity
   * rule's choice in `pool` given what the strategy picked. The prefix index is read once per instance.
   */
  decide(
    model: string,
    candidates: readonly Candidate[],
    pool: readonly Candidate[],
    fp: PromptFingerprint,
    wait: AffinityWait,
    balancerPick: string | undefined,
  ): "wait" | AffinityDecision | undefined {
    const holders = holdersOf(candidates);
    const views = this.views(model, [...holders, ...pool], fp);
    const holder = this.holderFrom(model, holders, views, fp);
    if (holder.affinityTarget !== undefined && !pool.some((c) => c.id === holder.affinityTarget)) {
      const now = this.deps.now();
      if (pool.length > 0) wait.firstAlternativeAtMs ??= now;
      const waitedMs = wait.firstAlternativeAtMs === undefined ? 0 : now - wait.firstAlternativeAtMs;
      if (waitedMs < holder.affinityWaitMs) return "wait";
    }
    return affinityPick(pool, views, fp.hashes.length, balancerPick, this.deps.tuning);
  }

  /** Records the prompt as sent to the chosen instance. */
  record(chosen: Candidate, model: string, fp: PromptFingerprint, matchChunks: number): void {
    const info = this.deps.sizing(chosen);
    this.deps.store.record(chosen.id, model, info, fp.hashes, matchChunks, fp.chars, this.deps.now());
  }

  /** Learns from Ollama's prompt figures of a finished attempt. */
  measure(instanceId: string, model: string, outcome: AttemptOutcome, matchChunks: number): void {
    if (!outcome.ok || outcome.promptEvalCount === undefined || outcome.promptEvalMs === undefined) return;
    const { store } = this.deps;
    store.measure(instanceId, model, outcome.promptEvalCount, outcome.promptEvalMs, matchChunks === 0);
  }

  private holderFrom(
    model: string,
    holders: readonly Candidate[],
    views: ReadonlyMap<string, AffinityView>,
    fp: PromptFingerprint,
  ): AffinityHolder {
    const holder = holderToWaitFor(holders, views, fp.hashes.length, this.deps.tuning);
    if (!holder) return NO_HOLDER;
    const waitMs = this.deps.store.prefillMs(holder.id, model, chunksToTokens(holder.matchChunks));
    return { affinityTarget: holder.id, affinityWaitMs: waitMs };
  }

  /** What each candidate's index holds of the prompt (each instance read once). */
  private views(
    model: string,
    candidates: readonly Candidate[],
    fp: PromptFingerprint,
  ): Map<string, AffinityView> {
    const views = new Map<string, AffinityView>();
    for (const c of candidates) {
      if (!views.has(c.id))
        views.set(c.id, this.deps.store.view(c.id, model, this.deps.sizing(c), fp.hashes));
    }
    return views;
  }
}
