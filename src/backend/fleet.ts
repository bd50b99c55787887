/** The set of upstream instances and the background refresh of their inventory. */
import { UndiciBackendClient, type BackendClient } from "./backend-client.js";
import {
  Instance,
  type InstanceGuardSettings,
  type InstanceHealth,
  type InstanceSpec,
  type InstanceStats,
} from "./instance.js";
import type { BreakerState } from "../routing/types.js";
import type { OllamaPsModel, OllamaTagModel } from "./ollama-types.js";
import { TypedEmitter } from "../util/typed-emitter.js";

/** Events a fleet emits. */
export interface FleetEvents {
  "instance-health": { id: string; from: InstanceHealth; to: InstanceHealth; reason: string };
  "inventory-refreshed": { id: string; models: number; loaded: number };
  "breaker-transition": { id: string; from: BreakerState; to: BreakerState; reason: string };
}

/** Options of a fleet. */
export interface FleetOptions {
  specs: InstanceSpec[];
  refreshIntervalMs: number;
  checkTimeoutMs: number;
  /** Interval of the active health check (GET /api/version), the seed's HealthCheckIntervalSeconds. */
  healthCheckIntervalMs: number;
  connectTimeoutMs: number;
  guard: Omit<InstanceGuardSettings, "now">;
  /** Factory for upstream clients; tests may inject their own. */
  clientFactory?: (spec: InstanceSpec) => BackendClient;
  now?: () => number;
}

/** Owns every Instance, refreshes their inventory in the background and reports health changes. */
export class Fleet {
  readonly events = new TypedEmitter<FleetEvents>();
  private readonly byId = new Map<string, Instance>();
  private timer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private readonly inProgress = new Map<string, Promise<void>>();
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly options: FleetOptions) {
    this.now = options.now ?? Date.now;
    const factory =
      options.clientFactory ??
      ((spec: InstanceSpec) =>
        new UndiciBackendClient(spec.url, { connectTimeoutMs: options.connectTimeoutMs }));
    for (const spec of options.specs) {
      const instance = new Instance(spec, factory(spec), { ...options.guard, now: this.now });
      instance.healthTracker.events.on("transition", (t) =>
        this.events.emit("instance-health", { id: spec.id, from: t.from, to: t.to, reason: t.reason }),
      );
      instance.breaker.events.on("transition", (t) =>
        this.events.emit("breaker-transition", { id: spec.id, from: t.from, to: t.to, reason: t.reason }),
      );
      this.byId.set(spec.id, instance);
    }
  }

  /** Every instance, in configuration order. */
  instances(): Instance[] {
    return [...this.byId.values()];
  }

  get(id: string): Instance | undefined {
    return this.byId.get(id);
  }

  /** Refreshes every instance once, then keeps refreshing on the interval. */
  async start(): Promise<void> {
    await this.refreshAll();
    if (this.closed) return;
    this.timer = setInterval(() => void this.refreshAll(), this.options.refreshIntervalMs);
    this.timer.unref();
    this.healthTimer = setInterval(() => void this.checkAll(), this.options.healthCheckIntervalMs);
    this.healthTimer.unref();
  }

  /** The active health check: GET /api/version on every instance within the check timeout. */
  async checkAll(): Promise<void> {
    await Promise.all(
      this.instances().map(async (instance) => {
        try {
          const v = await instance.client.json<{ version?: string }>({
            method: "GET",
            path: "/api/version",
            signal: AbortSignal.timeout(this.options.checkTimeoutMs),
            headersTimeoutMs: this.options.checkTimeoutMs,
          });
          if (this.closed) return;
          instance.version = v.version ?? instance.version;
          instance.healthTracker.recordSuccess("active");
        } catch (err) {
          if (!this.closed)
            instance.healthTracker.recordFailure("active", `health check failed: ${errorText(err)}`);
        }
      }),
    );
  }

  /** Refreshes all instances concurrently; never throws. */
  async refreshAll(): Promise<void> {
    await Promise.all(this.instances().map((i) => this.refresh(i.id)));
  }

  /** Refreshes the instances whose last check is older than `maxAgeMs` (rate-limits refresh on a miss). */
  async refreshStale(maxAgeMs: number): Promise<void> {
    const now = this.now();
    await Promise.all(
      this.instances()
        .filter((i) => i.lastCheckedAtMs === undefined || now - i.lastCheckedAtMs > maxAgeMs)
        .map((i) => this.refresh(i.id)),
    );
  }

  /** Refreshes one instance's version, tags and loaded models; concurrent calls share one refresh. */
  refresh(id: string): Promise<void> {
    const running = this.inProgress.get(id);
    if (running) return running;
    const instance = this.byId.get(id);
    if (!instance) return Promise.resolve();
    const p = this.doRefresh(instance).finally(() => this.inProgress.delete(id));
    this.inProgress.set(id, p);
    return p;
  }

  private async doRefresh(instance: Instance): Promise<void> {
    const signal = AbortSignal.timeout(this.options.checkTimeoutMs);
    const opts = { method: "GET" as const, signal, headersTimeoutMs: this.options.checkTimeoutMs };
    try {
      const [version, tags, ps] = await Promise.all([
        instance.client.json<{ version?: string }>({ ...opts, path: "/api/version" }),
        instance.client.json<{ models?: OllamaTagModel[] }>({ ...opts, path: "/api/tags" }),
        instance.client.json<{ models?: OllamaPsModel[] }>({ ...opts, path: "/api/ps" }),
      ]);
      if (this.closed) return;
      instance.version = version.version;
      instance.setInventory(tags.models ?? [], ps.models ?? []);
      instance.lastCheckedAtMs = this.now();
      instance.lastError = undefined;
      instance.healthTracker.recordSuccess("active");
      this.events.emit("inventory-refreshed", {
        id: instance.id,
        models: tags.models?.length ?? 0,
        loaded: ps.models?.length ?? 0,
      });
    } catch (err) {
      if (this.closed) return;
      instance.lastCheckedAtMs = this.now();
      instance.lastError = `inventory refresh failed: ${errorText(err)}`;
      instance.healthTracker.recordFailure("active", instance.lastError);
    }
  }

  /** Records a failure seen on a real request (a passive health signal). */
  markFailure(instance: Instance, reason: string): void {
    instance.lastError = reason;
    instance.failuresTotal++;
    instance.healthTracker.recordFailure("passive", reason);
  }

  stats(): InstanceStats[] {
    return this.instances().map((i) => i.stats());
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    await Promise.allSettled([...this.inProgress.values()]);
    await Promise.all(this.instances().map((i) => i.client.close()));
    this.events.removeAll();
  }
}

/** Short text of any thrown value, with the cause's code when undici hides it. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code ?? (err.cause as { code?: string } | undefined)?.code;
    return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
