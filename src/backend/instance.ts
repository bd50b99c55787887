/** Runtime state of one upstream Ollama instance: health, in-flight count and inventory. */
import type { BackendClient } from "./backend-client.js";
import { CircuitBreaker } from "../health/circuit-breaker.js";
import { HealthTracker } from "../health/health-tracker.js";
import type { BreakerState } from "../routing/types.js";
import type { OllamaPsModel, OllamaTagModel } from "./ollama-types.js";
import { normalizeModelName } from "../util/model-name.js";
import { ResidencyView } from "./residency-view.js";

/** Health of an instance as the gateway sees it. */
export type InstanceHealth = "unknown" | "healthy" | "unhealthy";

/** The seed's health and breaker parameters, shared by every instance. */
export interface InstanceGuardSettings {
  unhealthyThreshold: number;
  healthyThreshold: number;
  breakerEnabled: boolean;
  breakerThreshold: number;
  breakerResetMs: number;
  now: () => number;
}

/** Static description of an instance (from config, detection or the demo fleet). */
export interface InstanceSpec {
  id: string;
  name: string;
  url: string;
  gpuId: number;
  /** UUID of the GPU ("GPU-…") when known: the GPU monitor matches by it before the index. */
  gpuUuid?: string | undefined;
  memoryLimitBytes: number | undefined;
  /** Models the config assigns to this instance (pull targets); empty = no assignment. */
  models: string[];
  maxConcurrentRequests: number | undefined;
}

/** A serialisable view of an instance for the admin API, metrics and the dashboard. */
export interface InstanceStats {
  id: string;
  name: string;
  url: string;
  gpuId: number;
  health: InstanceHealth;
  breaker: BreakerState;
  /** healthy, unhealthy, open (breaker) or draining: the one word the dashboard shows. */
  state: "unknown" | "healthy" | "unhealthy" | "open" | "half-open" | "draining";
  draining: boolean;
  inFlight: number;
  maxConcurrentRequests: number | undefined;
  version: string | undefined;
  modelsOnDisk: string[];
  loadedModels: { name: string; sizeVramBytes: number; expiresAt: string }[];
  lastError: string | undefined;
  lastCheckedAt: string | undefined;
  requestsTotal: number;
  failuresTotal: number;
}

/** Mutable runtime state of one instance; only the fleet and the proxy change it. */
export class Instance {
  /** Consecutive-result health from active checks and real requests (the seed's thresholds). */
  readonly healthTracker: HealthTracker;
  /** Per-instance circuit breaker (the seed's CircuitBreaker* settings). */
  readonly breaker: CircuitBreaker;
  draining = false;
  /** Set by the supervisor: why it takes no requests yet (starting, restarting…); undefined = routable. */
  supervisorHold: string | undefined = undefined;
  /** Models the supervisor moved off this instance after out-of-memory errors: not routed here. */
  readonly blockedModels = new Set<string>();
  inFlight = 0;
  /** Routing weight factor from the GPU monitor: below 1 while the GPU is hot or short of memory. */
  gpuFactor = 1;
  version: string | undefined;
  lastError: string | undefined;
  lastCheckedAtMs: number | undefined;
  requestsTotal = 0;
  failuresTotal = 0;
  /** Models on disk by normalized name (from /api/tags). */
  private tags = new Map<string, OllamaTagModel>();
  /** Models loaded in memory (from /api/ps, corrected for the loads the gateway started). */
  readonly residency = new ResidencyView();

  constructor(
    readonly spec: InstanceSpec,
    readonly client: BackendClient,
    guard: InstanceGuardSettings,
  ) {
    this.healthTracker = new HealthTracker({
      unhealthyThreshold: guard.unhealthyThreshold,
      healthyThreshold: guard.healthyThreshold,
      now: guard.now,
    });
    this.breaker = new CircuitBreaker({
      threshold: guard.breakerThreshold,
      resetMs: guard.breakerResetMs,
      now: guard.now,
      enabled: guard.breakerEnabled,
    });
  }

  /** Current health. */
  get health(): InstanceHealth {
    return this.healthTracker.state;
  }

  /**
   * A request for `model` was placed here: counts it in flight and, when the model is not loaded, starts
   * the expected load (and the evictions it implies) in the residency view. Returns whether it did.
   */
  claim(model: string): boolean {
    this.inFlight++;
    this.residency.countInFlight(model, 1);
    return this.residency.beginLoad(model, this.modelSizeBytes(model) ?? 0, this.spec.memoryLimitBytes);
  }

  /**
   * A request placed with `claim` ended. Returns true when it ended a load the gateway started (done, or
   * abandoned by its clients), so the caller re-reads /api/ps to learn what is loaded and what was evicted.
   */
  unclaim(model: string, ok: boolean): boolean {
    this.inFlight--;
    this.residency.countInFlight(model, -1);
    return this.residency.endRequest(model, ok);
  }

  /** Size in bytes of a model on this instance's disk, if known. */
  modelSizeBytes(model: string): number | undefined {
    return this.tags.get(model)?.size;
  }

  /** Memory the loaded models take, in bytes (from /api/ps and the loads the gateway started). */
  loadedBytes(): number {
    return this.residency.loadedBytes();
  }

  get id(): string {
    return this.spec.id;
  }

  /** Replaces the inventory with a fresh /api/tags and /api/ps answer. */
  setInventory(tags: OllamaTagModel[], ps: OllamaPsModel[]): void {
    this.setTags(tags);
    this.setLoaded(ps);
  }

  /** Replaces the on-disk inventory only (from a live /api/tags). */
  setTags(tags: OllamaTagModel[]): void {
    this.tags = new Map(tags.map((m) => [normalizeModelName(m.name || m.model), m]));
  }

  /** Replaces the loaded-model inventory only (from a live /api/ps). */
  setLoaded(ps: OllamaPsModel[]): void {
    this.residency.setReported(ps);
  }

  /** Whether the model (normalized name) is on this instance's disk. */
  hasModel(model: string): boolean {
    return this.tags.has(model);
  }

  /** Whether the model (normalized name) is loaded in memory here. */
  isLoaded(model: string): boolean {
    return this.residency.isLoaded(model);
  }

  /** Tag entries as the instance reported them. */
  tagModels(): OllamaTagModel[] {
    return [...this.tags.values()];
  }

  /** Loaded-model entries as the instance reported them. */
  psModels(): OllamaPsModel[] {
    return this.residency.reportedModels();
  }

  /** Forgets a model after a delete, until the next refresh says otherwise. */
  forgetModel(model: string): void {
    this.tags.delete(model);
    this.residency.forget(model);
  }

  stats(): InstanceStats {
    return {
      id: this.spec.id,
      name: this.spec.name,
      url: this.spec.url,
      gpuId: this.spec.gpuId,
      health: this.health,
      breaker: this.breaker.state,
      state: this.draining
        ? "draining"
        : this.breaker.state !== "closed"
          ? this.breaker.state === "open"
            ? "open"
            : "half-open"
          : this.health,
      draining: this.draining,
      inFlight: this.inFlight,
      maxConcurrentRequests: this.spec.maxConcurrentRequests,
      version: this.version,
      modelsOnDisk: [...this.tags.keys()].sort(),
      loadedModels: this.residency.reportedModels().map((m) => ({
        name: m.name,
        sizeVramBytes: m.size_vram,
        expiresAt: m.expires_at,
      })),
      lastError: this.lastError,
      lastCheckedAt:
        this.lastCheckedAtMs === undefined ? undefined : new Date(this.lastCheckedAtMs).toISOString(),
      requestsTotal: this.requestsTotal,
      failuresTotal: this.failuresTotal,
    };
  }
}
