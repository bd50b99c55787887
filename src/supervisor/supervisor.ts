/**
 * The supervisor: starts one `ollama serve` per planned instance and keeps it serving — readiness,
 * gradual preloading, restarts with backoff, crash-loop verdicts, out-of-memory recovery — while the
 * orphan guard makes sure no child outlives the gateway. The gateway routes to an instance only once it
 * is ready (see gateway-link.ts).
 */
import type { Logger } from "pino";
import type { InstanceSpec } from "../backend/instance.js";
import { systemClock, type Clock } from "../queue/clock.js";
import { TypedEmitter } from "../util/typed-emitter.js";
import { DeviceLock } from "./device-lock.js";
import type { RoutingControl, SupervisedFleet, UpstreamFailureReport } from "./gateway-link.js";
import { InstanceRunner } from "./instance-runner.js";
import { OomHandler } from "./oom-handler.js";
import { OrphanGuard } from "./orphan-guard.js";
import type { PlannedInstance, ProvisionPlan } from "./plan-types.js";
import { supervisorSettings, type SupervisorSettingsInput } from "./supervisor-settings.js";
import type {
  SupervisedInstanceStats,
  SupervisedState,
  SupervisorEvents,
  SupervisorSettings,
  SupervisorStats,
} from "./supervisor-types.js";

/** What a supervisor is made from. */
export interface SupervisorOptions {
  plan: ProvisionPlan;
  settings?: SupervisorSettingsInput;
  logger: Logger;
  clock?: Clock;
  random?: () => number;
  /** Base environment of every instance; default this process's. */
  env?: NodeJS.ProcessEnv;
}

/** States after which an instance needs nothing more from start-up. */
const SETTLED: ReadonlySet<SupervisedState> = new Set(["ready", "failed", "stopped"]);

/** Starts, watches and stops the planned instances. */
export class Supervisor implements SupervisedFleet {
  readonly events = new TypedEmitter<SupervisorEvents>();
  readonly settings: SupervisorSettings;
  private readonly runners: InstanceRunner[];
  private readonly guard: OrphanGuard;
  private readonly oom: OomHandler;
  private readonly plan: ProvisionPlan;
  private control: RoutingControl | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: SupervisorOptions) {
    this.plan = options.plan;
    this.settings = supervisorSettings(options.settings);
    const clock = options.clock ?? systemClock();
    const random = options.random ?? Math.random;
    const logger = options.logger;
    this.guard = new OrphanGuard({ graceMs: this.settings.stopGraceMs, logger });
    const locks = new DeviceLock();
    this.oom = new OomHandler({
      runners: () => this.runners,
      events: this.events,
      logger,
      now: clock.now,
      settings: this.settings.oom,
      control: () => this.control,
      callTimeoutMs: this.settings.healthTimeoutMs,
    });
    this.runners = supervisedInstances(options.plan).map((planned) => {
      const device = planned.device.kind === "gpu" ? planned.device.uuid : "cpu";
      return new InstanceRunner({
        planned,
        settings: this.settings,
        logger: logger.child({ instance: planned.id }),
        guard: this.guard,
        events: this.events,
        clock,
        random,
        baseEnv: options.env ?? process.env,
        deviceLock: (step, fn) => locks.run(device, step, fn),
        onLine: (line) => void this.oom.report(planned.id, undefined, line, "log"),
        onPreloadError: (model, message) => void this.oom.report(planned.id, model, message, "preload"),
      });
    });
    this.events.on("state-change", (e) => this.control?.setHold(e.id, holdReason(e.to, e.reason)));
  }

  /** Starts the orphan guard and every instance (returns at once; watch events or `settled()`). */
  start(): void {
    if (this.closing) return;
    this.guard.start();
    for (const r of this.runners) r.start();
  }

  /** The gateway's view of every planned instance (supervised and external ones). */
  specs(): InstanceSpec[] {
    const emulated = this.settings.ollama.emulated;
    return this.plan.instances.map((p) => ({
      id: p.id,
      name:
        (p.device.kind === "gpu" ? p.device.name : "CPU") + (emulated && !p.externalUrl ? " (emulated)" : ""),
      url: p.externalUrl ?? `http://127.0.0.1:${p.port}`,
      gpuId: p.device.kind === "gpu" ? p.device.index : -1,
      memoryLimitBytes: p.memoryLimitBytes,
      models: p.models.map((m) => m.name),
      maxConcurrentRequests: p.maxConcurrentRequests,
    }));
  }

  attach(control: RoutingControl): void {
    this.control = control;
    for (const r of this.runners) control.setHold(r.id, holdReason(r.currentState, r.stats().reason));
  }

  reportUpstreamFailure(failure: UpstreamFailureReport): void {
    this.oom.report(failure.instanceId, failure.model, failure.message, "response");
  }

  /** Resolves when every instance is ready or failed (or the timeout passes; then rejects). */
  settled(timeoutMs: number): Promise<SupervisorStats> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (!this.runners.every((r) => SETTLED.has(r.currentState))) return false;
        done();
        resolve(this.stats());
        return true;
      };
      const off = this.events.on("state-change", () => void check());
      const timer = setTimeout(() => {
        done();
        const states = this.runners.map((r) => `${r.id}: ${r.currentState}`).join(", ");
        reject(new Error(`instances not settled within ${timeoutMs} ms (${states})`));
      }, timeoutMs);
      const done = (): void => {
        off();
        clearTimeout(timer);
      };
      check();
    });
  }

  /** Gives a failed instance a fresh start; false when there is no such failed instance. */
  retry(id: string): boolean {
    const r = this.runners.find((x) => x.id === id);
    if (!r || r.currentState !== "failed") return false;
    r.retry();
    return true;
  }

  /** One supervised instance's stats, if it exists. */
  instance(id: string): SupervisedInstanceStats | undefined {
    return this.runners.find((r) => r.id === id)?.stats();
  }

  stats(): SupervisorStats {
    return {
      emulated: this.settings.ollama.emulated,
      instances: this.runners.map((r) => r.stats()),
      oom: this.oom.stats(),
    };
  }

  /** pid of the orphan guard's warden (tests prove it goes away too). */
  get guardPid(): number | undefined {
    return this.guard.wardenPid;
  }

  /** Stops every instance (SIGTERM, SIGKILL after the grace period), then the orphan guard. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.runners.map((r) => r.stop()));
      await this.oom.settle();
      await this.guard.close();
      this.control = undefined;
      this.events.removeAll();
    })();
    return this.closing;
  }
}

/** The plan's instances that this machine launches (external ones are only routed to). */
export function supervisedInstances(plan: ProvisionPlan): PlannedInstance[] {
  return plan.instances.filter((p) => p.externalUrl === undefined);
}

function holdReason(state: SupervisedState, reason: string): string | undefined {
  return state === "ready" ? undefined : `${state}: ${reason}`;
}
