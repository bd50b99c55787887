/** Runtime state of one upstream Ollama instance: health, in-flight count and inventory. */
import type { BackendClient } from "./backend-client.js";
import type { OllamaPsModel, OllamaTagModel } from "./ollama-types.js";
import { normalizeModelName } from "../util/model-name.js";

/** Health of an instance as the gateway sees it. */
export type InstanceHealth = "unknown" | "healthy" | "unhealthy";

/** Static description of an instance (from config, detection or the demo fleet). */
export interface InstanceSpec {
  id: string;
  name: string;
  url: string;
  gpuId: number;
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
  health: InstanceHealth = "unknown";
  draining = false;
  inFlight = 0;
  version: string | undefined;
  lastError: string | undefined;
  lastCheckedAtMs: number | undefined;
  requestsTotal = 0;
  failuresTotal = 0;
  /** Models on disk by normalized name (from /api/tags). */
  private tags = new Map<string, OllamaTagModel>();
  /** Models loaded in memory by normalized name (from /api/ps). */
  private loaded = new Map<string, OllamaPsModel>();

  constructor(
    readonly spec: InstanceSpec,
    readonly client: BackendClient,
  ) {}

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
    this.loaded = new Map(ps.map((m) => [normalizeModelName(m.name || m.model), m]));
  }

  /** Whether the model (normalized name) is on this instance's disk. */
  hasModel(model: string): boolean {
    return this.tags.has(model);
  }

  /** Whether the model (normalized name) is loaded in memory here. */
  isLoaded(model: string): boolean {
    return this.loaded.has(model);
  }

  /** Tag entries as the instance reported them. */
  tagModels(): OllamaTagModel[] {
    return [...this.tags.values()];
  }

  /** Loaded-model entries as the instance reported them. */
  psModels(): OllamaPsModel[] {
    return [...this.loaded.values()];
  }

  /** Forgets a model after a delete, until the next refresh says otherwise. */
  forgetModel(model: string): void {
    this.tags.delete(model);
    this.loaded.delete(model);
  }

  stats(): InstanceStats {
    return {
      id: this.spec.id,
      name: this.spec.name,
      url: this.spec.url,
      gpuId: this.spec.gpuId,
      health: this.health,
      draining: this.draining,
      inFlight: this.inFlight,
      maxConcurrentRequests: this.spec.maxConcurrentRequests,
      version: this.version,
      modelsOnDisk: [...this.tags.keys()].sort(),
      loadedModels: [...this.loaded.values()].map((m) => ({
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
