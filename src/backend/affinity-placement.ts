/**
 * KV-cache affinity at placement time (docs/routing.md): which busy instance is worth waiting for, which
 * free one to choose, and what to record and learn afterwards. The decisions are the pure rules of
 * src/routing/kv-affinity.ts; this class feeds them the prefix index and the clock.
 */
import type { AffinityInstanceInfo, AffinityStore } from "../routing/affinity-store.js";
import {
  affinityPick,
  holderToWaitFor,
  liveVictimChunks,
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
  /** Session admission: since when this request is held because it would evict a live conversation. */
  heldSinceMs?: number | undefined;
  /** A first try before queueing (its wait is not kept): holds are not counted. */
  probe?: boolean;
}

/** The request stays queued; look again in `retryInMs` even if no slot frees meanwhile. */
export interface AffinityHold {
  wait: true;
  retryInMs: number | undefined;
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
  /** Slots, memory limit and the model's context on an instance, to size its index. */
  sizing: (c: Candidate, model: string) => AffinityInstanceInfo;
  now: () => number;
  /** Longest a request is held while every slot holds a live conversation (session admission; 0: off). */
  maxHoldMs: number;
}

const NO_HOLDER: AffinityHolder = { affinityTarget: undefined, affinityWaitMs: 0 };

/** Instances running the model that could take the request once a slot frees. */
const holdersOf = (candidates: readonly Candidate[]): Candidate[] =>
  candidates.filter((c) => c.residency === "hot" && isEligible({ ...c, inFlight: 0 }));

/** What session admission has done so far. */
export interface SessionAdmissionStats {
  /** How long after its last answer a conversation counts as live (undefined: not learned yet). */
  livenessMs: number | undefined;
  /** Requests opening a conversation that were held because every slot held a live one. */
  heldOpeners: number;
  /** Turns whose own cache was lost (so they would evict another) that were held. */
  heldLostTurns: number;
}

/** Affinity decisions for one router. */
export class AffinityPlacement {
  private heldOpeners = 0;
  private heldLostTurns = 0;

  constructor(private readonly deps: AffinityPlacementDeps) {}

  /** Session admission's liveness window and hold counts. */
  sessionAdmission(): SessionAdmissionStats {
    return {
      livenessMs: this.deps.store.livenessMs(),
      heldOpeners: this.heldOpeners,
      heldLostTurns: this.heldLostTurns,
    };
  }

  /** The instance running the model that holds a useful prefix of the prompt (busy or not). */
  holder(model: string, candidates: readonly Candidate[], fp: PromptFingerprint | undefined): AffinityHolder {
    if (!fp || fp.hashes.length === 0) return NO_HOLDER;
    const holders = holdersOf(candidates);
    return this.holderFrom(model, holders, this.views(model, holders, fp), fp);
  }

  /**
   * The placement decision with a prompt: a hold to leave the request queued (for its busy holder, or, as a
   * new conversation, for a slot without a live conversation), else the affinity rule's choice in `pool`
   * given what the strategy picked. The prefix index is read once per instance.
   */
  decide(
    model: string,
    candidates: readonly Candidate[],
    pool: readonly Candidate[],
    fp: PromptFingerprint,
    wait: AffinityWait,
    balancerPick: string | undefined,
  ): AffinityHold | AffinityDecision | undefined {
    const holders = holdersOf(candidates);
    const views = this.views(model, [...holders, ...pool], fp);
    const holder = this.holderFrom(model, holders, views, fp);
    const now = this.deps.now();
    if (holder.affinityTarget !== undefined && !pool.some((c) => c.id === holder.affinityTarget)) {
      if (pool.length > 0) wait.firstAlternativeAtMs ??= now;
      const waitedMs = wait.firstAlternativeAtMs === undefined ? 0 : now - wait.firstAlternativeAtMs;
      if (waitedMs < holder.affinityWaitMs) return { wait: true, retryInMs: undefined };
    }
    const decision = affinityPick(pool, views, fp.hashes.length, balancerPick, this.deps.tuning);
    if (!decision) return undefined;
    if (this.deps.maxHoldMs <= 0 || liveVictimChunks(decision, views) === undefined) return decision;
    // Session admission. Every slot holds a live conversation: placing this request evicts one, whose next
    // turn then finds no cache and evicts another, and so on until a conversation ends. So the request
    // waits for a slot to fall free (a conversation to end), for at most maxHoldMs; turns of live
    // conversations pass it meanwhile. An opener and a turn whose cache was lost wait alike: letting the
    // latter in after a while (we tried: after a re-prefill's worth of idle slots) keeps the chain going.
    if (wait.heldSinceMs === undefined && !wait.probe) {
      if (fp.opensConversation) this.heldOpeners++;
      else this.heldLostTurns++;
    }
    const heldMs = now - (wait.heldSinceMs ??= now);
    if (heldMs >= this.deps.maxHoldMs) return decision;
    // Look again when a live conversation here would end (no follow-up within the liveness window).
    const staleInMs = holders.map((c) => views.get(c.id)?.nextStaleInMs ?? Infinity);
    return { wait: true, retryInMs: Math.min(this.deps.maxHoldMs - heldMs, ...staleInMs) };
  }

  /** Records the prompt as sent to the chosen instance. */
  record(chosen: Candidate, model: string, fp: PromptFingerprint, matchChunks: number): void {
    const info = this.deps.sizing(chosen, model);
    this.deps.store.record(chosen.id, model, info, fp.hashes, matchChunks, fp.chars, this.deps.now());
  }

  /** The answer to a recorded prompt has ended (its conversation's client is thinking now). */
  finish(instanceId: string, model: string, fp: PromptFingerprint): void {
    this.deps.store.finish(instanceId, model, fp.hashes, this.deps.now());
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
    const now = this.deps.now();
    for (const c of candidates) {
      if (views.has(c.id)) continue;
      // A follow-up turn waiting here keeps its conversation live wherever its cache is.
      this.deps.store.touch(c.id, model, fp.hashes, now);
      views.set(c.id, this.deps.store.view(c.id, model, this.deps.sizing(c, model), fp.hashes, now));
    }
    return views;
  }
}
