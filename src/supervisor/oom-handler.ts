/**
 * Out-of-memory handling: classifies error texts from responses, preloads and instance logs, counts and
 * logs each one, and carries out the recovery step `decideOomRecovery` picks (unload the other models,
 * restart with fewer slots, move the model). Errors from logs are counted only: the same failure also
 * reaches a response, which names the model and drives the recovery.
 */
import type { Logger } from "pino";
import { normalizeModelName } from "../util/model-name.js";
import type { TypedEmitter } from "../util/typed-emitter.js";
import type { RoutingControl } from "./gateway-link.js";
import type { InstanceRunner } from "./instance-runner.js";
import { classifyOom, type OomKind, type OomSource } from "./oom-classifier.js";
import {
  decideOomRecovery,
  OomEscalation,
  type MoveCandidate,
  type OomAction,
  type OomEscalationSettings,
} from "./oom-recovery.js";
import type { OomStats, SupervisorEvents } from "./supervisor-types.js";

/** What the handler needs from the supervisor. */
export interface OomHandlerDeps {
  runners: () => InstanceRunner[];
  events: TypedEmitter<SupervisorEvents>;
  logger: Logger;
  now: () => number;
  settings: OomEscalationSettings;
  /** The gateway's routing controls, once linked. */
  control: () => RoutingControl | undefined;
  /** Timeout of each call the recovery makes, ms. */
  callTimeoutMs: number;
}

/** Counts out-of-memory errors and runs their recovery. */
export class OomHandler {
  private readonly escalation: OomEscalation;
  private readonly counters: OomStats = {
    detectedTotal: 0,
    byKind: { system_memory: 0, gpu_memory: 0, allocation: 0 },
    bySource: { response: 0, log: 0, preload: 0 },
    recoveries: { "unload-others": 0, "reduce-parallel": 0, "move-model": 0, none: 0 },
    recoveryFailures: 0,
    coalesced: 0,
  };
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly deps: OomHandlerDeps) {
    this.escalation = new OomEscalation(deps.settings);
  }

  /** Looks at an error text seen on an instance; returns whether it was an out-of-memory error. */
  report(instanceId: string, model: string | undefined, text: string, source: OomSource): boolean {
    const match = classifyOom(text);
    if (!match) return false;
    const runner = this.deps.runners().find((r) => r.id === instanceId);
    if (!runner) return false;
    const normalized = model === undefined ? undefined : normalizeModelName(model);
    const c = this.counters;
    c.detectedTotal++;
    c.byKind[match.kind]++;
    c.bySource[source]++;
    runner.oomTotal++;
    this.deps.events.emit("oom-detected", {
      id: instanceId,
      model: normalized,
      kind: match.kind,
      source,
      message: text,
    });
    this.deps.logger.warn(
      { instance: instanceId, model: normalized, kind: match.kind, source, err: text.slice(0, 500) },
      "out of memory",
    );
    if (source !== "log") this.track(this.recover(runner, normalized, match.kind));
    return true;
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  private async recover(runner: InstanceRunner, model: string | undefined, kind: OomKind): Promise<void> {
    const gate = this.escalation.begin(runner.id, model, this.deps.now());
    if (!gate.act) {
      this.counters.coalesced++;
      return;
    }
    let action: OomAction = { kind: "none", reason: "instance is not up" };
    let detail = "";
    let ok = true;
    try {
      if (runner.up) {
        const self = await this.memoryOf(runner);
        const candidates: MoveCandidate[] = [];
        for (const other of this.deps.runners()) {
          if (other === runner || other.currentState !== "ready") continue;
          const m = await this.memoryOf(other).catch(() => undefined);
          if (m) candidates.push({ id: other.id, freeBytes: m.freeBytes });
        }
        action = decideOomRecovery({
          kind,
          model,
          loadedModels: self.loaded,
          numParallel: runner.numParallel,
          freeBytes: self.freeBytes,
          modelSizeBytes: model === undefined ? undefined : plannedSize(this.deps.runners(), model),
          candidates,
          tried: gate.tried,
        });
      }
      detail = await this.apply(runner, model, action);
    } catch (err) {
      ok = false;
      detail = (err as Error).message;
      this.counters.recoveryFailures++;
    } finally {
      this.escalation.finish(runner.id, model, action.kind, this.deps.now());
      this.counters.recoveries[action.kind]++;
    }
    this.deps.events.emit("oom-recovery", { id: runner.id, model, action: action.kind, detail, ok });
    const fields = { instance: runner.id, model, action: action.kind, detail, ok };
    if (ok && action.kind !== "none") this.deps.logger.warn(fields, "out-of-memory recovery");
    else this.deps.logger.error(fields, "out-of-memory recovery did not help");
  }

  private async memoryOf(runner: InstanceRunner): Promise<{ loaded: string[]; freeBytes: number }> {
    const ps = await runner.admin.ps(AbortSignal.timeout(this.deps.callTimeoutMs));
    const used = ps.reduce((sum, m) => sum + (m.size_vram || m.size || 0), 0);
    return {
      loaded: ps.map((m) => normalizeModelName(m.name || m.model)),
      freeBytes: runner.stats().device.kind === "cpu" ? Infinity : plannedLimit(runner) - used,
    };
  }

  private async apply(runner: InstanceRunner, model: string | undefined, action: OomAction): Promise<string> {
    const timeout = (): AbortSignal => AbortSignal.timeout(this.deps.callTimeoutMs);
    switch (action.kind) {
      case "unload-others":
        for (const m of action.models) await runner.admin.unload(m, timeout());
        return `unloaded ${action.models.join(", ")}`;
      case "reduce-parallel": {
        const stats = runner.stats();
        const planned = plannedCapacity(runner);
        const capacity = Math.max(1, Math.round((planned * action.to) / stats.plannedNumParallel));
        this.deps.control()?.setCapacity(runner.id, capacity);
        runner.restartWith(`out of memory: OLLAMA_NUM_PARALLEL ${action.from} → ${action.to}`, {
          numParallel: action.to,
        });
        return `restarting with OLLAMA_NUM_PARALLEL ${action.from} → ${action.to} (capacity ${capacity})`;
      }
      case "move-model": {
        const target = this.deps.runners().find((r) => r.id === action.toInstanceId);
        if (!target || model === undefined) throw new Error(`move target ${action.toInstanceId} is gone`);
        await target.adopt(model);
        runner.release(model);
        this.deps.control()?.blockModel(runner.id, model);
        return `moved '${model}' to ${target.id}`;
      }
      case "none":
        return action.reason;
    }
  }

  /** Counters for metrics and the admin API. */
  stats(): OomStats {
    const c = this.counters;
    return {
      ...c,
      byKind: { ...c.byKind },
      bySource: { ...c.bySource },
      recoveries: { ...c.recoveries },
    };
  }

  /** Waits for recoveries in progress (used when stopping). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}

function plannedLimit(runner: InstanceRunner): number {
  return runner.plannedInstance.memoryLimitBytes;
}

function plannedCapacity(runner: InstanceRunner): number {
  return runner.plannedInstance.maxConcurrentRequests;
}

/** The planner's size estimate of a model, from whichever instance it was planned on. */
function plannedSize(runners: InstanceRunner[], model: string): number | undefined {
  for (const r of runners) {
    const m = r.plannedInstance.models.find((p) => normalizeModelName(p.name) === model);
    if (m?.sizeBytes !== undefined) return m.sizeBytes;
  }
  return undefined;
}
