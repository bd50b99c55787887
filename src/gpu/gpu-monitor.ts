/**
 * The seed's GpuHealthMonitor: polls the GPUs at an interval (temperature, memory, utilisation, power),
 * lowers the routing weight of instances on a hot or memory-starved GPU, and takes the instances of a lost
 * GPU out of rotation until it answers again. Readings are kept for metrics and the dashboard (`stats()`).
 */
import type { Clock } from "../queue/clock.js";
import { TypedEmitter } from "../util/typed-emitter.js";
import type { GpuPoller } from "./gpu-poller.js";
import {
  judgeGpu,
  lostVerdict,
  type GpuCondition,
  type GpuMonitorThresholds,
  type GpuVerdict,
} from "./gpu-verdict.js";
import type { GpuInfo, GpuSource } from "./types.js";

/** What the monitor needs of an instance: which GPU it runs on, and the two levers it pulls. */
export interface GpuBoundInstance {
  readonly id: string;
  readonly spec: { readonly gpuId: number; readonly gpuUuid?: string | undefined };
  /** Multiplies the instance's health score (1 = no GPU concern). */
  gpuFactor: number;
  readonly healthTracker: { hold(reason: string): void; release(): void };
}

/** One GPU as the monitor last saw it. */
export interface GpuStatus {
  /** The last good reading (kept while the GPU is lost, so its identity stays known). */
  gpu: GpuInfo;
  condition: GpuCondition;
  reasons: string[];
  routingFactor: number;
  /** Instances that run on it. */
  instanceIds: string[];
  /** When the reading was taken (ms, the monitor's clock). */
  readAtMs: number;
}

/** A snapshot for metrics, the admin API and the dashboard. */
export interface GpuMonitorStats {
  source: GpuSource;
  intervalMs: number;
  polls: number;
  failedPolls: number;
  consecutiveFailures: number;
  lastError: string | undefined;
  lastPollAtMs: number | undefined;
  gpus: GpuStatus[];
}

/** Events of the monitor. */
export interface GpuMonitorEvents {
  /** A GPU's condition changed (also emitted for each GPU's first verdict when it is not healthy). */
  "gpu-condition": {
    gpuId: number;
    uuid: string;
    name: string;
    from: GpuCondition | undefined;
    to: GpuCondition;
    reasons: string[];
    instanceIds: string[];
  };
  /** A poll failed as a whole (NVML error, tool timeout). */
  "poll-failed": { message: string; consecutive: number };
}

/** Settings of a monitor. */
export interface GpuMonitorOptions {
  poller: GpuPoller;
  instances: () => readonly GpuBoundInstance[];
  thresholds: GpuMonitorThresholds;
  intervalMs: number;
  clock: Clock;
  /** Whole-poll failures in a row after which every GPU counts as lost (the driver is gone). */
  lostAfterFailedPolls?: number;
}

/** Polls GPUs and applies their verdicts to the instances on them; `close()` stops it. */
export class GpuMonitor {
  readonly events = new TypedEmitter<GpuMonitorEvents>();
  private readonly byUuid = new Map<string, GpuStatus>();
  /** Instances this monitor has put on hold, so it releases only its own holds. */
  private readonly held = new Set<string>();
  private timer: unknown;
  private running: Promise<void> | undefined;
  private closed = false;
  private polls = 0;
  private failedPolls = 0;
  private consecutiveFailures = 0;
  private lastError: string | undefined;
  private lastPollAtMs: number | undefined;

  constructor(private readonly options: GpuMonitorOptions) {}

  /** Polls once now, then every interval. */
  async start(): Promise<void> {
    await this.pollNow();
    this.schedule();
  }

  /** One poll and its verdicts (also what the timer runs); concurrent calls share one poll. */
  pollNow(): Promise<void> {
    this.running ??= this.poll().finally(() => (this.running = undefined));
    return this.running;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.options.clock.setTimeout(() => {
      void this.pollNow().then(() => this.schedule());
    }, this.options.intervalMs);
  }

  private async poll(): Promise<void> {
    const at = this.options.clock.now();
    let gpus: GpuInfo[];
    try {
      gpus = await this.options.poller.poll();
    } catch (err) {
      if (this.closed) return;
      this.failed(err instanceof Error ? err.message : String(err), at);
      return;
    }
    if (this.closed) return;
    this.polls++;
    this.consecutiveFailures = 0;
    this.lastError = undefined;
    this.lastPollAtMs = at;
    const seen = new Set<string>();
    for (const gpu of gpus) {
      seen.add(gpu.uuid);
      this.record(gpu, judgeGpu(gpu, this.options.thresholds), at);
    }
    // A GPU that fell off the bus is often simply missing from the next enumeration.
    for (const [uuid, status] of this.byUuid) {
      if (!seen.has(uuid)) this.record(status.gpu, lostVerdict("GPU no longer reported by the driver"), at);
    }
    this.apply();
  }

  private failed(message: string, at: number): void {
    this.polls++;
    this.failedPolls++;
    this.consecutiveFailures++;
    this.lastError = message;
    this.lastPollAtMs = at;
    this.events.emit("poll-failed", { message, consecutive: this.consecutiveFailures });
    // One failed read is noise; several in a row mean the driver or the device is gone.
    if (this.consecutiveFailures < (this.options.lostAfterFailedPolls ?? 3)) return;
    const reason = `GPU monitoring failed ${this.consecutiveFailures} times in a row: ${message}`;
    for (const status of this.byUuid.values()) this.record(status.gpu, lostVerdict(reason), at);
    this.apply();
  }

  private record(gpu: GpuInfo, verdict: GpuVerdict, at: number): void {
    const before = this.byUuid.get(gpu.uuid);
    const instanceIds = this.instancesOn(gpu).map((i) => i.id);
    this.byUuid.set(gpu.uuid, {
      gpu,
      condition: verdict.condition,
      reasons: verdict.reasons,
      routingFactor: verdict.routingFactor,
      instanceIds,
      readAtMs: at,
    });
    const from = before?.condition;
    if (from !== verdict.condition && (from !== undefined || verdict.condition !== "healthy")) {
      this.events.emit("gpu-condition", {
        gpuId: gpu.id,
        uuid: gpu.uuid,
        name: gpu.name,
        from,
        to: verdict.condition,
        reasons: verdict.reasons,
        instanceIds,
      });
    }
  }

  /** Pushes every GPU's factor and lost state to its instances. */
  private apply(): void {
    for (const instance of this.options.instances()) {
      const status = this.statusOf(instance);
      instance.gpuFactor = status ? status.routingFactor : 1;
      if (status?.condition === "lost") {
        this.held.add(instance.id);
        instance.healthTracker.hold(
          `GPU ${status.gpu.id} (${status.gpu.name}) lost: ${status.reasons.join("; ")}`,
        );
      } else if (this.held.delete(instance.id)) {
        instance.healthTracker.release();
      }
    }
  }

  private statusOf(instance: GpuBoundInstance): GpuStatus | undefined {
    const uuid = instance.spec.gpuUuid;
    if (uuid !== undefined) return this.byUuid.get(uuid);
    if (instance.spec.gpuId < 0) return undefined; // a CPU instance
    for (const s of this.byUuid.values()) if (s.gpu.id === instance.spec.gpuId) return s;
    return undefined;
  }

  private instancesOn(gpu: GpuInfo): GpuBoundInstance[] {
    return this.options
      .instances()
      .filter((i) => (i.spec.gpuUuid !== undefined ? i.spec.gpuUuid === gpu.uuid : i.spec.gpuId === gpu.id));
  }

  /** The latest readings and verdicts, GPUs in index order. */
  stats(): GpuMonitorStats {
    return {
      source: this.options.poller.source,
      intervalMs: this.options.intervalMs,
      polls: this.polls,
      failedPolls: this.failedPolls,
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError,
      lastPollAtMs: this.lastPollAtMs,
      gpus: [...this.byUuid.values()]
        .sort((a, b) => a.gpu.id - b.gpu.id)
        .map((s) => ({ ...s, reasons: [...s.reasons], instanceIds: [...s.instanceIds] })),
    };
  }

  /** Stops polling, waits for a poll in progress, releases its holds and closes the backend. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.options.clock.clearTimeout(this.timer);
    await this.running;
    for (const instance of this.options.instances()) {
      if (this.held.delete(instance.id)) instance.healthTracker.release();
    }
    await this.options.poller.close();
    this.events.removeAll();
  }
}
