/**
 * Places requests on instances: builds each instance's Candidate (health, breaker, load, residency,
 * measured speed), asks the configured Balancer, claims the slot and breaker trial, and on release
 * feeds the outcome back to health, breaker and the performance tracker. Requests that find every
 * instance full wait in the admission queue, pumped whenever a slot frees.
 */
import { GatewayError } from "../errors/catalog.js";
import { AdmissionQueue } from "../queue/admission-queue.js";
import { systemClock, type Clock } from "../queue/clock.js";
import { QueueError } from "../queue/queue-error.js";
import type { QueueStats } from "../queue/types.js";
import { scoresByInstance, type ScoresByInstance } from "../routing/health-score.js";
import type { PerformanceTracker } from "../routing/performance-tracker.js";
import { isEligible, type Balancer, type Candidate, type Priority } from "../routing/types.js";
import type {
  AffinityInstanceInfo,
  AffinityInstanceStats,
  AffinityStore,
} from "../routing/affinity-store.js";
import {
  DEFAULT_AFFINITY_TUNING,
  type AffinityDecision,
  type AffinityTuning,
} from "../routing/kv-affinity.js";
import { AffinityPlacement, type AffinityWait, type SessionAdmissionStats } from "./affinity-placement.js";
import { modelAwareDecision, modelAwarePool } from "../routing/model-aware.js";
import type { Precision } from "../routing/model-fit.js";
import type { CpuFallbackSettings } from "../routing/cpu-fallback.js";
import { CandidateBuilder } from "./candidate-builder.js";
import { learnFromAttempt } from "./attempt-feedback.js";
import { mayEverServe, ModelGone, startingCouldServe } from "./start-up-wait.js";
import { refusal } from "./route-refusal.js";
import { chunksToTokens } from "../routing/prompt-fingerprint.js";
import type { Fleet } from "./fleet.js";
import type { Placement, RouteHints, RouteResult, Router } from "./router-types.js";

/** Requests an instance takes at once when the config does not say (Ollama's own queue holds the rest). */
export { DEFAULT_INSTANCE_CAPACITY } from "./candidate-builder.js";

/** Settings of the router. */
export interface RequestRouterOptions {
  fleet: Fleet;
  balancer: Balancer;
  perf: PerformanceTracker;
  maxQueueSize: number;
  queueTimeoutMs: number;
  /** Waiting this long promotes a queued request one priority step. */
  agingMs: number;
  now: () => number;
  /** Clock of the admission queue (timeouts, waits); the system clock by default. */
  clock?: Clock | undefined;
  /** KV-cache affinity (EnableKvCacheSharing); undefined when off. */
  affinity?: AffinityStore | undefined;
  affinityTuning?: AffinityTuning;
  /** Precision a model requires of the GPU serving it (PlannedModels `+bf16`…), by normalised name. */
  modelPrecision?: ReadonlyMap<string, Precision>;
  /**
   * Session admission ([Traffic] SessionHoldSeconds): longest a request is held because it would evict a
   * live conversation, ms; at most half the queue timeout (then it is placed, not failed); 0 turns it off.
   * Default: half the queue timeout.
   */
  sessionHoldMs?: number;
  /** CPU fallback ([Traffic]); undefined: CPU instances are ordinary candidates. */
  cpuFallback?: CpuFallbackSettings | undefined;
}

interface QueueItem {
  exclude: ReadonlySet<string>;
  hints: RouteHints | undefined;
  /** The instance holding this request's prefix, worth waiting for for `affinityWaitMs` (see AffinityWait). */
  affinityTarget: string | undefined;
  affinityWaitMs: number;
  wait: AffinityWait;
}

/** The Router the proxy uses; `close()` rejects queued requests. */
export class RequestRouter implements Router {
  readonly queue: AdmissionQueue<QueueItem, Placement>;
  private readonly fleet: Fleet;
  private readonly builder: CandidateBuilder;
  private readonly affinity: AffinityPlacement | undefined;
  private readonly clock: Clock;
  private retryTimer: unknown;
  private retryDueAtMs = 0;

  constructor(private readonly options: RequestRouterOptions) {
    this.fleet = options.fleet;
    this.builder = new CandidateBuilder({
      perf: options.perf,
      queueDepth: (model) => this.queue.depthFor(model),
      modelPrecision: options.modelPrecision,
      cpuFallback: options.cpuFallback,
      now: options.now,
    });
    const clock = options.clock ?? systemClock();
    this.clock = clock;
    this.affinity =
      options.affinity &&
      new AffinityPlacement({
        store: options.affinity,
        tuning: options.affinityTuning ?? DEFAULT_AFFINITY_TUNING,
        sizing: (c, model) => this.sizing(c, model),
        now: () => clock.now(),
        maxHoldMs: Math.min(options.sessionHoldMs ?? Infinity, options.queueTimeoutMs / 2),
      });
    this.queue = new AdmissionQueue<QueueItem, Placement>({
      clock,
      maxSize: options.maxQueueSize,
      agingMs: options.agingMs,
      place: (w) => {
        // A waiter queued while instances were starting, for a model that none of them turned out to have.
        if (!mayEverServe(this.fleet.instances(), w.model)) throw new ModelGone(w.model);
        const waitedMs = clock.now() - w.enqueuedAtMs;
        return this.tryPlace(w.model, w.priority, w.item.exclude, w.item.hints, w.item.wait, waitedMs);
      },
      // Waiters that can go to the same instances share a key: one refusal in a pump round stands for all.
      placementKey: (w) => {
        const base = w.item.exclude.size === 0 ? w.model : `${w.model}|${[...w.item.exclude].join(",")}`;
        const since = w.item.wait.firstAlternativeAtMs;
        const waiting =
          w.item.affinityTarget && (since === undefined || clock.now() - since < w.item.affinityWaitMs);
        if (waiting) return `${base}|for:${w.item.affinityTarget}`;
        // A request held for a slot without a live conversation (session admission) blocks no one else.
        return w.item.wait.heldSinceMs !== undefined ? `${base}|held` : base;
      },
    });
    // Capacity may have appeared: a recovered instance, a closed breaker, fresh inventory.
    this.fleet.events.on("instance-health", () => this.queue.pump());
    this.fleet.events.on("inventory-refreshed", () => {
      this.forgetUnloaded();
      this.queue.pump();
    });
  }

  /** An unloaded model's KV cache is gone: its prefix index must go too. */
  private forgetUnloaded(): void {
    const affinity = this.options.affinity;
    if (!affinity) return;
    const instances = this.fleet.instances();
    affinity.keepOnly(new Set(instances.map((i) => i.id)));
    for (const i of instances) affinity.retain(i.id, new Set(i.stats().loadedModels.map((m) => m.name)));
  }

  /**
   * Each instance's candidate view for a model (for the admin API and the balancer). CPU instances are
   * left out unless CPU fallback applies (src/routing/cpu-fallback.ts).
   */
  candidates(model: string): Candidate[] {
    return this.builder.candidates(this.fleet.instances(), model);
  }

  /** Whether CPU fallback was in use within the last `windowMs`. */
  cpuFallbackActive(windowMs = 60_000): boolean {
    return this.builder.cpuFallbackActive(windowMs);
  }

  route(model: string, priority: Priority, exclude: ReadonlySet<string>, hints?: RouteHints): RouteResult {
    // Requests already waiting for this model go first: a newcomer queues behind them.
    if (this.queue.depthFor(model) > 0 && exclude.size === 0) return { kind: "full" };
    const placement = this.tryPlace(model, priority, exclude, hints);
    if (placement) return { kind: "placed", placement };
    const all = this.candidates(model).filter((c) => !exclude.has(c.id));
    const holders = all.filter((c) => c.hasModel);
    // Someone could take it once a slot frees, or an instance being started might (start-up-wait.ts): wait.
    const waitable = holders.some((c) => isEligible({ ...c, inFlight: 0 }));
    if (waitable || startingCouldServe(this.fleet.instances(), model, exclude)) return { kind: "full" };
    return refusal(this.fleet.instances(), holders, model);
  }

  async admit(
    model: string,
    priority: Priority,
    exclude: ReadonlySet<string>,
    signal: AbortSignal,
    hints?: RouteHints,
  ): Promise<RouteResult> {
    try {
      const waiting = this.queue.enqueue({
        model,
        priority,
        item: {
          exclude,
          hints,
          ...(this.affinity?.holder(
            model,
            this.candidates(model).filter((c) => !exclude.has(c.id)),
            hints?.fingerprint,
          ) ?? {
            affinityTarget: undefined,
            affinityWaitMs: 0,
          }),
          wait: { firstAlternativeAtMs: undefined },
        },
        timeoutMs: this.options.queueTimeoutMs,
        signal,
      });
      // A slot may have freed between the failed placement and now (or the queue held others first).
      this.queue.pump();
      const admission = await waiting;
      return { kind: "placed", placement: admission.placement };
    } catch (err) {
      if (err instanceof ModelGone) {
        return { kind: "none", reason: "model_not_found", detail: `no instance has model '${model}'` };
      }
      if (err instanceof QueueError) {
        if (err.code === "aborted") throw new GatewayError("client_gone", err.message, { cause: err });
        const code = err.code === "queue_full" ? "queue_full" : "queue_timeout";
        throw new GatewayError(code, err.message, { retryAfterSeconds: code === "queue_full" ? 2 : 5 });
      }
      throw err;
    }
  }

  /** Picks and claims an instance, or undefined when none may take the request now. */
  private tryPlace(
    model: string,
    priority: Priority,
    exclude: ReadonlySet<string>,
    hints: RouteHints | undefined,
    wait: AffinityWait = { firstAlternativeAtMs: undefined, probe: true },
    waitedMs = 0,
  ): Placement | undefined {
    const candidates = this.candidates(model).filter((c) => !exclude.has(c.id));
    const request = { model, priority, waitedMs };
    let id = this.options.balancer.pick(candidates, request);
    if (id === undefined) {
      // A swap waiting its turn may go later even if no slot frees in between: look again then.
      const retryInMs = modelAwareDecision(candidates, request).retryInMs;
      if (retryInMs !== undefined) this.pumpIn(retryInMs);
    }
    const fingerprint = hints?.fingerprint;
    const affinity = this.affinity;
    let decision: AffinityDecision | undefined;
    if (affinity && fingerprint && fingerprint.hashes.length > 0) {
      const pool = modelAwarePool(candidates, request);
      // The instance holding the prefix is only full: wait for it while the wait costs less than a miss.
      const decided = affinity.decide(model, candidates, pool, fingerprint, wait, id);
      if (decided && "wait" in decided) {
        if (decided.retryInMs !== undefined) this.pumpIn(decided.retryInMs);
        return undefined;
      }
      decision = decided;
      if (decision) id = decision.id;
    }
    const instance = id === undefined ? undefined : this.fleet.get(id);
    if (!instance || !instance.breaker.tryAcquire()) return undefined;
    const startedLoad = instance.claim(model);
    instance.requestsTotal++;
    const matchChunks = decision?.matchChunks ?? 0;
    const chosen = candidates.find((c) => c.id === instance.id);
    if (affinity && fingerprint && decision && chosen)
      affinity.record(chosen, model, fingerprint, matchChunks);
    let released = false;
    return {
      instance,
      startedLoad,
      affinity: decision && { reason: decision.reason, matchedTokens: chunksToTokens(matchChunks) },
      release: (outcome) => {
        if (released) return;
        released = true;
        // A load the gateway started has ended: /api/ps tells what it evicted.
        if (instance.unclaim(model, outcome.ok)) void this.fleet.refresh(instance.id);
        learnFromAttempt(this.fleet, this.options.perf, { instance, model, outcome, startedLoad });
        affinity?.measure(instance.id, model, outcome, matchChunks);
        if (affinity && fingerprint && decision) affinity.finish(instance.id, model, fingerprint);
        this.queue.pump();
      },
    };
  }

  /** Pumps the queue in `ms` (or earlier, if a pump is already due sooner). */
  private pumpIn(ms: number): void {
    const dueAtMs = this.clock.now() + ms;
    if (this.retryTimer !== undefined && this.retryDueAtMs <= dueAtMs) return;
    if (this.retryTimer !== undefined) this.clock.clearTimeout(this.retryTimer);
    this.retryDueAtMs = dueAtMs;
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.queue.pump();
    }, ms);
  }

  /** What sizing an instance's prefix index for a model needs: slots, memory limit, the model's context. */
  private sizing(c: Candidate, model: string): AffinityInstanceInfo {
    const instance = this.fleet.get(c.id);
    return {
      slots: c.capacity,
      memoryLimitBytes: instance?.spec.memoryLimitBytes,
      contextTokens: instance?.residency.contextLength(model),
    };
  }

  /** KV-cache affinity per instance (index sizes, predicted and measured hits); [] when off. */
  affinityStats(): AffinityInstanceStats[] {
    return this.options.affinity?.stats(this.clock.now()) ?? [];
  }

  /** Session admission's liveness window and hold counts; undefined when KV affinity is off. */
  sessionAdmission(): SessionAdmissionStats | undefined {
    return this.affinity?.sessionAdmission();
  }

  /** Health scores and their parts for every instance, per model loaded or on disk, for the admin API. */
  scores(): ScoresByInstance {
    const models = new Set<string>();
    for (const i of this.fleet.instances()) for (const m of i.stats().modelsOnDisk) models.add(m);
    return scoresByInstance(models, (model) => this.candidates(model));
  }

  queueStats(): QueueStats {
    return this.queue.stats();
  }

  close(): void {
    if (this.retryTimer !== undefined) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.queue.close();
  }
}
