/**
 * Builds what a balancer sees of each instance for one model (src/routing/types.ts Candidate): health,
 * breaker, load, residency, memory and precision fit, measured speed; and applies CPU fallback.
 */
import { precisionSupportByName, type PrecisionSupport } from "../gpu/capability-db.js";
import { applyCpuFallback, type CpuFallbackSettings } from "../routing/cpu-fallback.js";
import { canHold, residencyOf, type Precision } from "../routing/model-fit.js";
import type { PerformanceTracker } from "../routing/performance-tracker.js";
import type { Candidate } from "../routing/types.js";
import type { Instance } from "./instance.js";

/** Requests an instance takes at once when the config does not say (Ollama's own queue holds the rest). */
export const DEFAULT_INSTANCE_CAPACITY = 4;

/** What building candidates reads. */
export interface CandidateBuilderDeps {
  perf: PerformanceTracker;
  /** Requests waiting in the gateway's queue for a model. */
  queueDepth: (model: string) => number;
  modelPrecision?: ReadonlyMap<string, Precision> | undefined;
  cpuFallback?: CpuFallbackSettings | undefined;
  now: () => number;
}

/** Candidate views of instances; remembers when CPU fallback was last used. */
export class CandidateBuilder {
  /** When a request last could use a CPU instance in fallback (for /fleet/status "degraded"). */
  private lastCpuFallbackMs: number | undefined;

  constructor(private readonly deps: CandidateBuilderDeps) {}

  /** Each instance's candidate view for a model; CPU instances only when CPU fallback applies. */
  candidates(instances: readonly Instance[], model: string): Candidate[] {
    const all = instances.map((i) => this.candidateOf(i, model));
    const fallback = this.deps.cpuFallback;
    if (!fallback) return all;
    const cpu = new Set(instances.filter((i) => i.spec.gpuId < 0).map((i) => i.id));
    if (cpu.size === 0) return all;
    const size = Math.max(0, ...instances.map((i) => i.modelSizeBytes(model) ?? 0));
    const applied = applyCpuFallback(all, (id) => cpu.has(id), size, fallback);
    if (applied.fallback) this.lastCpuFallbackMs = this.deps.now();
    return applied.candidates;
  }

  /** Whether CPU fallback was in use within the last `windowMs`. */
  cpuFallbackActive(windowMs = 60_000): boolean {
    return this.lastCpuFallbackMs !== undefined && this.deps.now() - this.lastCpuFallbackMs < windowMs;
  }

  private readonly precisionCache = new Map<string, PrecisionSupport | undefined>();

  /** What an instance's GPU computes in, from its name in the capability table; undefined: unknown. */
  private precisionOf(instance: Instance): PrecisionSupport | undefined {
    if (instance.spec.gpuId < 0) return undefined;
    if (!this.precisionCache.has(instance.id)) {
      this.precisionCache.set(instance.id, precisionSupportByName(instance.spec.name));
    }
    return this.precisionCache.get(instance.id);
  }

  /** Demand for what loading `model` would unload here: queued requests for it plus its in-flight ones here. */
  private evictionDemand(instance: Instance, model: string, sizeBytes: number): number {
    let demand = 0;
    for (const victim of instance.residency.victims(model, sizeBytes, instance.spec.memoryLimitBytes)) {
      demand += this.deps.queueDepth(victim) + instance.residency.inFlightFor(victim);
    }
    return demand;
  }

  private candidateOf(instance: Instance, model: string): Candidate {
    const size = instance.modelSizeBytes(model) ?? 0;
    const precision = this.precisionOf(instance);
    const limit = instance.spec.memoryLimitBytes;
    const loaded = instance.isLoaded(model);
    const residency = loaded
      ? "hot"
      : limit === undefined
        ? "warm"
        : residencyOf({ loaded, modelSizeBytes: size, freeBytes: limit - instance.loadedBytes() });
    const breaker = instance.breaker.state;
    return {
      id: instance.id,
      health: instance.health,
      breaker,
      breakerTrialAvailable: instance.breaker.trialAvailable,
      draining: instance.draining || instance.supervisorHold !== undefined,
      hasModel: instance.hasModel(model) && !instance.blockedModels.has(model),
      canHoldModel: canHold({
        modelSizeBytes: size,
        memoryLimitBytes: limit,
        requiresPrecision: this.deps.modelPrecision?.get(model),
        supportsFp16: precision?.float16,
        supportsBf16: precision?.bfloat16,
        supportsFp8: precision?.fp8,
      }),
      inFlight: instance.inFlight,
      capacity: instance.spec.maxConcurrentRequests ?? DEFAULT_INSTANCE_CAPACITY,
      // Requests already waiting for this model: the backlog that tells "saturated" from "briefly full".
      queueDepth: this.deps.queueDepth(model),
      residency,
      loadPenaltyMs: residency === "hot" ? 0 : this.deps.perf.estimateLoadMs(instance.id, size),
      evictionDemand: residency === "cold" ? this.evictionDemand(instance, model, size) : 0,
      ttftMs: this.deps.perf.ttftMs(instance.id, model),
      tokensPerSecond: this.deps.perf.tokensPerSecond(instance.id, model),
      errorRate: this.deps.perf.errorRate(instance.id),
      gpuFactor: instance.gpuFactor,
    };
  }
}
