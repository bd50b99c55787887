/**
 * The Ollama emulator: an HTTP server that answers Ollama's native and OpenAI-compatible API like
 * `ollama serve` on one GPU, timed by the GPU model, with faults and stats under /__sim/.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DEFAULT_MODELS, parseModelList } from "./catalog.js";
import { RealClock } from "./clock.js";
import type { EmuContext, ResolvedOptions } from "./context.js";
import { handleControl } from "./control-api.js";
import { FaultState, RUNNER_STOPPED } from "./faults.js";
import { ERR_MAX_QUEUE, GpuScheduler } from "./gpu-scheduler.js";
import { sendJson, type Exchange } from "./http-io.js";
import { ModelStore } from "./model-store.js";
import { openAiError } from "./openai-api.js";
import { DEFAULT_PERF, defaultGpu, defaultNumCtx } from "./perf-model.js";
import { answerNoRoute, INFERENCE_PATHS, routeFor } from "./routes.js";
import { StatsCollector } from "./sim-stats.js";
import { rng } from "./text-model.js";
import type { EmulatorOptions, SimStats } from "./types.js";

/** A running emulator. */
export interface EmulatorHandle {
  url: string;
  port: number;
  /** Stops listening, drops every connection and timer. */
  close(): Promise<void>;
  stats(): SimStats;
}

/** Ollama's version string the emulator reports by default. */
export const EMULATED_OLLAMA_VERSION = "0.13.0";

function resolve(o: EmulatorOptions): ResolvedOptions {
  const gpu = o.gpu ?? defaultGpu();
  return {
    id: o.id ?? "",
    host: o.host ?? "127.0.0.1",
    port: o.port ?? 0,
    gpu,
    numParallel: Math.max(1, o.numParallel ?? 1),
    maxLoadedModels: o.maxLoadedModels ?? 0,
    maxQueue: Math.max(1, o.maxQueue ?? 512),
    keepAliveMs: o.keepAliveMs ?? 5 * 60_000,
    defaultNumCtx: o.contextLength ?? defaultNumCtx(gpu),
    timeScale: o.timeScale && o.timeScale > 0 ? o.timeScale : 1,
    seed: o.seed ?? 0,
    outputTokens: o.outputTokens ?? { min: 16, max: 160 },
    downloadBytesPerSec: o.downloadBytesPerSec ?? 100e6,
    perf: { ...DEFAULT_PERF, ...o.perf },
    version: o.version ?? EMULATED_OLLAMA_VERSION,
    crashMode: o.crashMode ?? "close",
    evictionPolicy: o.evictionPolicy ?? "ollama",
  };
}

/** One emulator: its server, clock, scheduler, models, faults and stats. */
class Emulator implements EmuContext {
  readonly clock: RealClock;
  readonly scheduler: GpuScheduler;
  readonly store: ModelStore;
  readonly stats: StatsCollector;
  readonly faults = new FaultState();
  readonly server: Server;
  private readonly random: () => number;
  private crashed = false;

  constructor(
    readonly opts: ResolvedOptions,
    models: EmulatorOptions["models"],
    private readonly logLine: ((line: string) => void) | undefined,
  ) {
    this.clock = new RealClock(opts.timeScale);
    this.stats = new StatsCollector(opts.id, opts.timeScale);
    this.scheduler = new GpuScheduler(
      this.clock,
      {
        gpu: opts.gpu,
        perf: opts.perf,
        numParallel: opts.numParallel,
        maxLoadedModels: opts.maxLoadedModels,
        maxQueue: opts.maxQueue,
        defaultKeepAliveMs: opts.keepAliveMs,
        evictionPolicy: opts.evictionPolicy,
      },
      this.stats,
    );
    this.store = new ModelStore(models ?? parseModelList(DEFAULT_MODELS));
    this.random = rng(opts.seed ^ 0x5eed);
    this.server = createServer((req, res) => this.handle(req, res));
    // Go's server keeps idle connections and never times out a long stream.
    this.server.keepAliveTimeout = 120_000;
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 60_000;
  }

  ns(modelMs: number): number {
    return Math.round((modelMs / this.opts.timeScale) * 1e6);
  }

  wallMs(modelMs: number): number {
    return modelMs / this.opts.timeScale;
  }

  randomInt(n: number): number {
    return Math.floor(this.random() * n);
  }

  log(line: string): void {
    this.logLine?.(line);
  }

  crash(): void {
    if (this.crashed) return;
    this.crashed = true;
    this.log(
      `crash fault: ${this.opts.crashMode === "exit" ? "exiting with 137" : "dropping every connection"}`,
    );
    if (this.opts.crashMode === "exit") process.exit(137);
    this.shutdown();
  }

  /** Stops everything: the listener, open connections (mid-stream ones included) and timers. */
  shutdown(): Promise<void> {
    const closed = new Promise<void>((done) => this.server.close(() => done()));
    this.server.closeAllConnections();
    this.clock.close();
    this.scheduler.close();
    return closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const method = req.method ?? "GET";
    const aborts: (() => void)[] = [];
    const x: Exchange = {
      req,
      res,
      method,
      path,
      body: "",
      aborted: false,
      faulted: false,
      plan: { busy: false, error500: false },
      // A client that already left gets its cleanup at once.
      onAbort: (fn) => (x.aborted ? fn() : void aborts.push(fn)),
    };
    res.on("close", () => {
      if (res.writableFinished) return;
      x.aborted = true;
      for (const fn of aborts.splice(0)) fn();
    });
    if (path.startsWith("/__sim/")) {
      void this.readBody(x).then(() => {
        try {
          handleControl(this, x);
        } catch (err) {
          this.internalError(x, err);
        }
      });
      return;
    }
    this.stats.request(path);
    res.on("finish", () => {
      if (res.statusCode >= 400) this.stats.error();
    });
    const hang = this.faults.peek("hang");
    if (hang && hang.afterTokens === undefined) {
      this.faults.take("hang");
      return; // held open, never answered
    }
    const health = (path === "/" || path === "/api/version") && (method === "GET" || method === "HEAD");
    if (health && this.faults.take("health-fail")) return sendJson(x, 500, { error: "health check failed" });
    const route = routeFor(path);
    const handler = route?.[method];
    if (!handler) return answerNoRoute(x, route);
    void this.readBody(x).then(() => {
      if (INFERENCE_PATHS.has(path) && !this.startInference(x)) return;
      try {
        void Promise.resolve(handler(this, x)).catch((err: unknown) => this.internalError(x, err));
      } catch (err) {
        this.internalError(x, err);
      }
    });
  }

  /** Counts an inference request in flight and applies the faults that answer it at once. */
  private startInference(x: Exchange): boolean {
    this.stats.inferenceStarted();
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.stats.inferenceEnded();
      if (x.aborted && !x.faulted) this.stats.cancel();
      if (slowed && !this.faults.peek("slow")) this.scheduler.setSlowFactor(1);
    };
    x.res.on("close", end);
    const slow = this.faults.take("slow");
    const slowed = slow !== undefined;
    if (slow) this.scheduler.setSlowFactor(slow.factor ?? 10);
    x.plan = this.faults.planFor();
    const openai = x.path.startsWith("/v1/");
    const fail = (status: number, message: string): false => {
      sendJson(x, status, openai ? openAiError(status, message) : { error: message }, openai);
      return false;
    };
    if (x.plan.busy) return fail(503, ERR_MAX_QUEUE);
    if (x.plan.error500) return fail(500, RUNNER_STOPPED);
    return true;
  }

  private internalError(x: Exchange, err: unknown): void {
    this.log(`internal error on ${x.path}: ${(err as Error).stack ?? String(err)}`);
    sendJson(x, 500, { error: (err as Error).message ?? String(err) });
  }

  private readBody(x: Exchange): Promise<void> {
    return new Promise((done) => {
      const chunks: Buffer[] = [];
      x.req.on("data", (c: Buffer) => chunks.push(c));
      x.req.on("end", () => {
        x.body = Buffer.concat(chunks).toString("utf8");
        done();
      });
      x.req.on("error", () => done());
    });
  }
}

/** Starts an emulator and resolves once it listens. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  const opts = resolve(options);
  const emu = new Emulator(opts, options.models, options.log);
  await new Promise<void>((done, fail) => {
    emu.server.once("error", fail);
    emu.server.listen(opts.port, opts.host, () => done());
  });
  const port = (emu.server.address() as AddressInfo).port;
  if (!opts.id) opts.id = `emulator-${port}`;
  emu.stats.id = opts.id;
  const shownHost =
    opts.host === "0.0.0.0" || opts.host === "::" || opts.host === "" ? "127.0.0.1" : opts.host;
  const url = `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${port}`;
  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    close: () => (closing ??= emu.shutdown()),
    stats: () => emu.stats.snapshot(emu.scheduler, emu.faults.list()),
  };
}

/** For the control API: the emulator behind a context. */
export type EmulatorInternals = Emulator;
