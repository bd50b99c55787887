/**
 * Ollama's scheduler (server/sched.go) for one GPU: requests wait in a bounded FIFO until their
 * model is loaded with compatible options; loading a model that does not fit unloads an idle one
 * first (or waits for a busy one, blocking the queue as Ollama does); keep_alive timers unload idle
 * models.
 */
import type { SimClock } from "./clock.js";
import { GpuEngine } from "./gpu-engine.js";
import { humanBytes2, loadTimeMs, memoryRequired } from "./perf-model.js";
import type {
  Job,
  JobListener,
  JobSpec,
  JobState,
  Runner,
  RunnerInfo,
  SchedulerConfig,
  SchedulerObserver,
} from "./scheduler-types.js";
import { createRunner, pickVictim, runnerInfo } from "./runners.js";
import { SimError, type ModelSpec } from "./types.js";

/** Ollama's ErrMaxQueue text (sched.go). */
export const ERR_MAX_QUEUE = "server busy, please try again.  maximum pending requests exceeded";

/** One GPU's scheduler and the engine that times its sequences. */
export class GpuScheduler {
  readonly engine: GpuEngine;
  private pending: JobState[] = [];
  private deferred: JobState[] = [];
  private readonly runners = new Map<string, Runner>();
  private loading: Runner | null = null;
  private blockedOn: Runner | null = null;
  private scheduling = false;
  private again = false;

  constructor(
    private readonly clock: SimClock,
    private readonly config: SchedulerConfig,
    private readonly observer: SchedulerObserver,
  ) {
    this.engine = new GpuEngine(clock, config.gpu, config.perf, observer);
  }

  /** Queues a request; throws 503 when OLLAMA_MAX_QUEUE requests already wait for the scheduler. */
  submit(spec: JobSpec, listener: JobListener): Job {
    if (this.pending.length + this.deferred.length >= this.config.maxQueue)
      throw new SimError(503, ERR_MAX_QUEUE);
    const now = this.engine.now();
    const job: JobState = {
      spec,
      listener,
      state: "pending",
      submittedAt: now,
      readyAt: now,
      runner: null,
      seqs: [],
      results: [],
      left: spec.sequences.length,
    };
    this.pending.push(job);
    this.processPending();
    return { cancel: () => this.cancel(job) };
  }

  /** The unload request (empty prompt, keep_alive 0): unload now if idle, else when it goes idle. */
  expire(modelName: string): void {
    const runner = this.runners.get(modelName.toLowerCase());
    if (!runner) return;
    runner.sessionMs = 0;
    if (runner.refCount === 0) this.unload(runner);
  }

  /** Requests waiting for the scheduler. */
  get queued(): number {
    return this.pending.length + this.deferred.length;
  }

  /** The loaded (and loading) models, as /api/ps and the stats show them. */
  runnerInfos(): RunnerInfo[] {
    return [...this.runners.values()].map(runnerInfo);
  }

  /** Every duration × factor from now on (the "slow" fault). */
  setSlowFactor(factor: number): void {
    this.engine.setSlowFactor(factor);
  }

  close(): void {
    this.engine.close();
    for (const r of this.runners.values()) {
      r.expiry?.cancel();
      r.loadTimer?.cancel();
    }
  }

  private cancel(job: JobState): void {
    if (job.state === "pending") {
      job.state = "cancelled";
      this.pending = this.pending.filter((j) => j !== job);
      this.deferred = this.deferred.filter((j) => j !== job);
      return;
    }
    if (job.state !== "assigned" || !job.runner) return;
    job.state = "cancelled";
    const runner = job.runner;
    runner.awaitingLoad = runner.awaitingLoad.filter((j) => j !== job);
    for (const seq of job.seqs) this.engine.cancel(seq);
    this.release(runner);
  }

  /** Ollama's processPending loop: serve the queue head, or stop while waiting for an unload. */
  private processPending(): void {
    if (this.scheduling) {
      this.again = true;
      return;
    }
    this.scheduling = true;
    try {
      do {
        this.again = false;
        this.drain();
      } while (this.again);
    } finally {
      this.scheduling = false;
    }
  }

  private drain(): void {
    while (this.pending.length > 0 && !this.blockedOn) {
      const job = this.pending[0]!;
      const { model, numCtx } = job.spec;
      const existing = this.runners.get(model.name.toLowerCase());
      let victim: Runner | undefined;
      if (existing && existing.numCtx === numCtx) {
        this.pending.shift();
        this.assign(job, existing);
        continue;
      } else if (existing) {
        victim = existing; // different runner options force a reload
      } else if (this.runners.size >= this.maxLoaded()) {
        victim = this.findVictim();
      } else {
        const need = memoryRequired(model, numCtx, this.parallelFor(model));
        if (need > this.config.gpu.memoryBytes) {
          this.pending.shift();
          job.state = "failed";
          const msg = `model requires more system memory (${humanBytes2(need)}) than is available (${humanBytes2(this.config.gpu.memoryBytes)})`;
          job.listener.onError(new SimError(500, msg));
          continue;
        }
        if (this.loading) {
          // Ollama re-queues a request while another model loads on the GPU; others go ahead.
          this.deferred.push(this.pending.shift()!);
          continue;
        }
        if (need <= this.freeMemory()) {
          this.pending.shift();
          this.startLoad(job, need);
          continue;
        }
        victim = this.findVictim();
      }
      if (!victim) return;
      victim.evicting = true;
      if (victim.refCount === 0) {
        this.unload(victim);
        continue;
      }
      // Busy: it unloads as soon as its last request ends; the whole queue waits, as in Ollama.
      victim.sessionMs = 0;
      victim.expiry?.cancel();
      victim.expiry = null;
      this.blockedOn = victim;
    }
  }

  private maxLoaded(): number {
    return this.config.maxLoadedModels > 0 ? this.config.maxLoadedModels : 3;
  }

  private freeMemory(): number {
    let used = 0;
    for (const r of this.runners.values()) used += r.memoryBytes;
    return this.config.gpu.memoryBytes - used;
  }

  private findVictim(): Runner | undefined {
    return pickVictim([...this.runners.values()], this.config.evictionPolicy);
  }

  /** Slots of a model: sched.go loads embedding-only models with parallel=1 whatever OLLAMA_NUM_PARALLEL says. */
  private parallelFor(model: ModelSpec): number {
    return model.embeddingOnly ? 1 : this.config.numParallel;
  }

  private startLoad(job: JobState, memoryBytes: number): void {
    const { model, numCtx } = job.spec;
    const now = this.engine.now();
    const runner = createRunner(
      model,
      numCtx,
      memoryBytes,
      this.engine.createPool(model, this.parallelFor(model)),
      {
        sessionMs: this.config.defaultKeepAliveMs,
        now,
      },
    );
    this.runners.set(runner.key, runner);
    this.loading = runner;
    this.observer.load(model.name);
    const readyAt = now + loadTimeMs(model, this.config.perf) * this.engine.slowFactor;
    runner.loadTimer = this.clock.schedule(readyAt, (at) => this.finishLoad(runner, at));
    this.assign(job, runner);
  }

  private finishLoad(runner: Runner, at: number): void {
    runner.loadTimer = null;
    if (this.loading === runner) this.loading = null;
    this.pending.unshift(...this.deferred.splice(0));
    if (this.runners.get(runner.key) === runner) {
      runner.state = "ready";
      this.engine.poolReady(runner.pool);
      for (const job of runner.awaitingLoad.splice(0)) this.start(job, at);
    }
    this.processPending();
  }

  private assign(job: JobState, runner: Runner): void {
    runner.refCount++;
    runner.expiry?.cancel();
    runner.expiry = null;
    runner.expiresAt = null;
    if (job.spec.keepAliveMs !== undefined) runner.sessionMs = job.spec.keepAliveMs;
    runner.lastUsedAt = this.engine.now();
    job.runner = runner;
    job.state = "assigned";
    if (runner.state === "ready") this.start(job, this.engine.now());
    else runner.awaitingLoad.push(job);
  }

  /** The job's model is ready: run its sequences (or finish a load-only request). */
  private start(job: JobState, at: number): void {
    job.readyAt = at;
    if (job.left === 0) {
      this.complete(job);
      return;
    }
    job.spec.sequences.forEach((spec, i) => {
      const seq = this.engine.submit(job.runner!.pool, spec, {
        onToken: (index) => job.listener.onToken?.(i, index),
        onDone: (result) => {
          job.results[i] = result;
          if (--job.left === 0 && job.state === "assigned") this.complete(job);
        },
      });
      job.seqs.push(seq);
    });
  }

  private complete(job: JobState): void {
    job.state = "done";
    const now = this.engine.now();
    const runner = job.runner!;
    runner.lastUsedAt = now;
    job.listener.onDone({
      loadMs: job.readyAt - job.submittedAt,
      totalMs: now - job.submittedAt,
      sequences: job.results,
    });
    this.release(runner);
  }

  /** A request let go of its runner; an idle runner unloads now (keep_alive 0) or on a timer. */
  private release(runner: Runner): void {
    runner.refCount--;
    if (runner.refCount > 0 || this.runners.get(runner.key) !== runner) return;
    if (runner.sessionMs <= 0) {
      this.unload(runner);
      return;
    }
    if (!Number.isFinite(runner.sessionMs)) return;
    runner.expiresAt = this.engine.now() + runner.sessionMs;
    runner.expiry = this.clock.schedule(runner.expiresAt, () => {
      if (runner.refCount === 0) this.unload(runner);
    });
  }

  private unload(runner: Runner): void {
    if (this.runners.get(runner.key) !== runner) return;
    this.runners.delete(runner.key);
    runner.expiry?.cancel();
    runner.loadTimer?.cancel();
    this.observer.unload(runner.model.name, runner.evicting);
    if (this.loading === runner) {
      this.loading = null;
      this.pending.unshift(...this.deferred.splice(0));
    }
    if (this.blockedOn === runner) this.blockedOn = null;
    this.processPending();
  }
}
