/**
 * The life of one supervised instance: spawn, wait for /api/version, preload its models (one device at a
 * time), watch its liveness, and restart it after an exit or a wedge with the restart policy's backoff,
 * until a crash loop marks it failed.
 */
import type { Logger } from "pino";
import type { Clock } from "../queue/clock.js";
import { normalizeModelName } from "../util/model-name.js";
import type { TypedEmitter } from "../util/typed-emitter.js";
import { instanceEnv } from "./instance-env.js";
import { levelOfLine, LogTail } from "./instance-log.js";
import { describeExit, InstanceProcess, type ProcessExit } from "./instance-process.js";
import { preloadModels } from "./instance-preload.js";
import { waitUntilAnswering, watchLiveness } from "./liveness-watch.js";
import { OllamaAdmin } from "./ollama-admin.js";
import type { OrphanGuard } from "./orphan-guard.js";
import type { PlannedInstance } from "./plan-types.js";
import { RestartPolicy } from "./restart-policy.js";
import type {
  SupervisedInstanceStats,
  SupervisedState,
  SupervisorEvents,
  SupervisorSettings,
} from "./supervisor-types.js";

/** What a runner needs from the supervisor. */
export interface InstanceRunnerDeps {
  planned: PlannedInstance;
  settings: SupervisorSettings;
  /** Child logger carrying the instance id. */
  logger: Logger;
  guard: OrphanGuard | undefined;
  events: TypedEmitter<SupervisorEvents>;
  clock: Clock;
  random: () => number;
  baseEnv: NodeJS.ProcessEnv;
  /** Runs one model load while no other load runs on the same device, lowest plan step first. */
  deviceLock: (step: number, fn: () => Promise<void>) => Promise<void>;
  /** Every output line (the supervisor looks for out-of-memory errors in them). */
  onLine: (line: string) => void;
  /** A preload failed with Ollama's message. */
  onPreloadError: (model: string, message: string) => void;
}

/** Runs one instance; every timer and process it starts ends in `stop()`. */
export class InstanceRunner {
  readonly admin: OllamaAdmin;
  /** Models to preload, in order. */
  models: string[];
  numParallel: number;
  private state: SupervisedState = "stopped";
  private reason = "not started";
  private proc: InstanceProcess | undefined;
  private life: AbortController | undefined;
  private readonly policy: RestartPolicy;
  private readonly tail: LogTail;
  private restartTimer: unknown;
  /** Set when the supervisor itself ends the current process, with why. */
  private endingReason: { reason: string; planned: boolean } | undefined;
  private stopping = false;
  private exitsTotal = 0;
  private restartsTotal = 0;
  private lastExit: { reason: string; atMs: number } | undefined;
  private startedAtMs: number | undefined;
  private readyAtMs: number | undefined;
  /** Out-of-memory errors attributed to this instance. */
  oomTotal = 0;

  constructor(private readonly deps: InstanceRunnerDeps) {
    this.admin = new OllamaAdmin(`http://127.0.0.1:${deps.planned.port}`);
    this.models = deps.planned.models.filter((m) => m.preload).map((m) => m.name);
    this.numParallel = deps.planned.numParallel;
    this.policy = new RestartPolicy(deps.settings.restart, deps.random);
    this.tail = new LogTail(deps.settings.logTailLines);
  }

  get id(): string {
    return this.deps.planned.id;
  }

  /** The plan entry this runner was made from. */
  get plannedInstance(): PlannedInstance {
    return this.deps.planned;
  }

  get currentState(): SupervisedState {
    return this.state;
  }

  /** Whether the instance answers requests for the supervisor's own calls (preloading or ready). */
  get up(): boolean {
    return this.state === "preloading" || this.state === "ready";
  }

  /** Starts the first process. */
  start(): void {
    if (this.state !== "stopped" || this.stopping) return;
    this.launch("initial start");
  }

  private setState(to: SupervisedState, reason: string): void {
    const from = this.state;
    this.state = to;
    this.reason = reason;
    if (from === to) return;
    const log = to === "failed" ? "error" : to === "restarting" ? "warn" : "info";
    this.deps.logger[log]({ from, to, reason }, `instance ${to}`);
    this.deps.events.emit("state-change", { id: this.id, from, to, reason });
  }

  private launch(reason: string): void {
    const { planned, settings, clock } = this.deps;
    this.setState("starting", reason);
    this.life = new AbortController();
    this.endingReason = undefined;
    this.readyAtMs = undefined;
    this.startedAtMs = clock.now();
    const env = {
      ...instanceEnv(planned, settings, this.deps.baseEnv, { numParallel: this.numParallel }),
      ...settings.extraEnv?.(planned),
    };
    const proc = new InstanceProcess({
      command: settings.ollama.command,
      args: settings.ollama.args,
      env,
      guard: this.deps.guard,
      onLine: (stream, line) => this.onLine(stream, line),
      now: clock.now,
    });
    this.proc = proc;
    this.deps.logger.info({ pid: proc.pid, numParallel: this.numParallel }, "instance process spawned");
    void proc.exited.then((exit) => this.onExit(proc, exit));
    void this.bringUp(this.life.signal);
  }

  private onLine(stream: "stdout" | "stderr", line: string): void {
    this.tail.push({ atMs: this.deps.clock.now(), stream, line });
    this.deps.logger[levelOfLine(line)]({ stream }, line);
    this.deps.onLine(line);
  }

  private async bringUp(signal: AbortSignal): Promise<void> {
    const { settings, clock } = this.deps;
    const notReady = await waitUntilAnswering({
      admin: this.admin,
      clock,
      pollMs: settings.readinessPollMs,
      timeoutMs: settings.healthTimeoutMs,
      startTimeoutMs: settings.startTimeoutMs,
      signal,
    });
    if (notReady !== undefined) return this.end(notReady, false);
    if (signal.aborted) return;
    this.setState("preloading", "answering on /api/version");
    watchLiveness({
      admin: this.admin,
      clock,
      intervalMs: settings.healthIntervalMs,
      timeoutMs: settings.healthTimeoutMs,
      threshold: settings.wedgeThreshold,
      logger: this.deps.logger,
      signal,
      onWedged: (reason) => this.end(reason, false),
    });
    await preloadModels(
      {
        id: this.id,
        planned: this.deps.planned,
        admin: this.admin,
        settings: this.deps.settings,
        clock: this.deps.clock,
        events: this.deps.events,
        logger: this.deps.logger,
        deviceLock: this.deps.deviceLock,
        onPreloadError: this.deps.onPreloadError,
      },
      [...this.models],
      signal,
    );
    if (signal.aborted) return;
    this.readyAtMs = clock.now();
    this.setState(
      "ready",
      this.models.length === 0 ? "up, nothing to preload" : `up, preloaded ${this.models.join(", ")}`,
    );
  }

  /** Ends the current process on the supervisor's initiative; `planned` restarts skip the backoff. */
  private end(reason: string, planned: boolean): void {
    const proc = this.proc;
    if (!proc || !proc.running || this.endingReason) return;
    this.endingReason = { reason, planned };
    this.life?.abort();
    // Out of rotation at once: the process may take the whole grace period to go.
    this.setState("restarting", `${reason}; stopping the process`);
    void proc.stop(this.deps.settings.stopGraceMs);
  }

  private onExit(proc: InstanceProcess, exit: ProcessExit): void {
    if (proc !== this.proc) return;
    const { clock, events, logger } = this.deps;
    this.life?.abort();
    const ending = this.endingReason;
    const words = describeExit(exit);
    const reason = ending?.reason ?? withLastError(words, this.tail.lastError());
    events.emit("process-exit", {
      id: this.id,
      pid: proc.pid,
      code: exit.code,
      signal: exit.signal,
      uptimeMs: exit.uptimeMs,
      expected: this.stopping || ending !== undefined,
      reason,
    });
    if (this.stopping) return this.setState("stopped", `stopped (${words})`);
    if (ending?.planned) {
      this.restartsTotal++;
      return this.launch(`restart: ${ending.reason}`);
    }
    this.exitsTotal++;
    this.lastExit = { reason, atMs: clock.now() };
    logger.warn({ code: exit.code, signal: exit.signal, uptimeMs: exit.uptimeMs, reason }, "instance exited");
    if (exit.spawnError !== undefined) return this.setState("failed", reason);
    const decision = this.policy.recordExit({ atMs: clock.now(), uptimeMs: exit.uptimeMs, reason });
    if (decision.kind === "fail") return this.setState("failed", decision.reason);
    this.setState("restarting", `${reason}; restart ${decision.attempt} in ${decision.delayMs} ms`);
    events.emit("restart-scheduled", {
      id: this.id,
      attempt: decision.attempt,
      delayMs: decision.delayMs,
      reason,
    });
    this.restartTimer = clock.setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restartsTotal++;
      this.launch(`restart ${decision.attempt} after: ${reason}`);
    }, decision.delayMs);
  }

  /** Restarts with new settings (fewer slots) at once, without counting it as a crash. */
  restartWith(reason: string, change: { numParallel?: number }): void {
    if (change.numParallel !== undefined) this.numParallel = change.numParallel;
    if (this.stopping || this.state === "failed") return;
    if (this.state === "restarting") return; // the pending restart picks the new settings up
    this.end(reason, true);
  }

  /** Gives a failed instance a fresh start (an operator asked). */
  retry(): void {
    if (this.state !== "failed" || this.stopping) return;
    this.policy.reset();
    this.launch("restarted by request after failure");
  }

  /** Loads a model now (moved here after an out-of-memory error) and preloads it on later starts. */
  async adopt(model: string): Promise<void> {
    const name = normalizeModelName(model);
    if (!this.models.some((m) => normalizeModelName(m) === name)) this.models.push(model);
    const signal = this.life?.signal ?? AbortSignal.abort();
    await this.admin.load(
      model,
      this.deps.settings.keepAlive,
      AbortSignal.any([signal, AbortSignal.timeout(this.deps.settings.preloadTimeoutMs)]),
    );
  }

  /** Stops preloading a model here (it moved away). */
  release(model: string): void {
    const name = normalizeModelName(model);
    this.models = this.models.filter((m) => normalizeModelName(m) !== name);
  }

  /** Stops the instance (SIGTERM, then SIGKILL after the grace period) and every timer. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.deps.clock.clearTimeout(this.restartTimer);
    this.life?.abort();
    const proc = this.proc;
    if (proc?.running) {
      this.setState("stopping", "gateway stopping");
      await proc.stop(this.deps.settings.stopGraceMs);
    } else if (this.state !== "stopped") {
      this.setState("stopped", "gateway stopping");
    }
    await this.admin.close();
  }

  /** pid of the current process, if any. */
  get pid(): number | undefined {
    return this.proc?.running ? this.proc.pid : undefined;
  }

  stats(): SupervisedInstanceStats {
    const p = this.deps.planned;
    return {
      id: p.id,
      state: this.state,
      reason: this.reason,
      pid: this.pid,
      port: p.port,
      url: this.admin.baseUrl,
      device: p.device,
      numParallel: this.numParallel,
      plannedNumParallel: p.numParallel,
      models: [...this.models],
      exitsTotal: this.exitsTotal,
      restartsTotal: this.restartsTotal,
      lastExit: this.lastExit,
      startedAtMs: this.startedAtMs,
      readyAtMs: this.readyAtMs,
      oomTotal: this.oomTotal,
      recentLogs: this.tail.last(20),
    };
  }
}

function withLastError(words: string, lastError: string | undefined): string {
  return lastError ? `${words}; last error line: ${lastError.slice(0, 300)}` : words;
}
