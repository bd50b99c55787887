/**
 * Open-loop streaming load for the routing benchmark: each request of a schedule is sent at its own
 * instant whether or not earlier ones have answered (as independent users do), streamed as NDJSON, and
 * timed to its first line (TTFT) and to its end.
 */
import { setMaxListeners } from "node:events";
import { performance } from "node:perf_hooks";
import { Pool } from "undici";
import type { ScheduledRequest } from "./workloads/routing-workloads.js";

/** What happened to one request. Times are wall milliseconds after the start of the run. */
export interface RequestRecord {
  index: number;
  model: string;
  sentMs: number;
  /** First NDJSON line received. */
  firstLineMs?: number;
  endMs?: number;
  status?: number;
  outputTokens: number;
  /** The instance that answered (the gateway's x-ollama-fleet-instance header). */
  instance?: string;
  /** load_duration of the answer, wall ms: above about 1 ms the model was loaded for this request. */
  loadMs?: number;
  /** ok, http_<status> (e.g. http_503 for a queue rejection), stream_error, network, or cut (aborted at the cut-off). */
  outcome: "ok" | `http_${number}` | "stream_error" | "network" | "cut";
}

/** Options of one open-loop run. */
export interface OpenLoopOptions {
  url: string;
  schedule: ScheduledRequest[];
  /** Emulated milliseconds per wall millisecond (the emulators' --time-scale). */
  timeScale: number;
  /** Wall milliseconds after the start at which requests still running are aborted. */
  cutoffMs: number;
}

/**
 * Sends the schedule (arrival times divided by the time scale) to `/api/generate` with `stream: true` and
 * returns one record per request once every request has ended or been cut off.
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<RequestRecord[]> {
  const pool = new Pool(options.url, { connections: 4096, pipelining: 1, keepAliveTimeout: 30_000 });
  const cutoff = new AbortController();
  // Every request in flight listens on the one cut-off signal.
  setMaxListeners(0, cutoff.signal);
  const start = performance.now();
  const elapsed = (): number => performance.now() - start;
  const cutTimer = setTimeout(() => cutoff.abort(), options.cutoffMs);
  const running: Promise<RequestRecord>[] = [];
  try {
    for (const req of options.schedule) {
      const due = req.atMs / options.timeScale;
      const wait = due - elapsed();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      if (cutoff.signal.aborted) break;
      running.push(send(pool, req, elapsed, cutoff.signal));
    }
    return await Promise.all(running);
  } finally {
    clearTimeout(cutTimer);
    await pool.destroy();
  }
}

async function send(
  pool: Pool,
  req: ScheduledRequest,
  elapsed: () => number,
  signal: AbortSignal,
): Promise<RequestRecord> {
  const rec: RequestRecord = {
    index: req.index,
    model: req.model,
    sentMs: elapsed(),
    outputTokens: 0,
    outcome: "network",
  };
  const body = JSON.stringify({
    model: req.model,
    prompt: req.prompt,
    stream: true,
    options: { num_predict: req.numPredict, seed: req.seed },
  });
  try {
    const res = await pool.request({
      method: "POST",
      path: "/api/generate",
      body,
      headers: { "content-type": "application/json" },
      signal,
    });
    rec.status = res.statusCode;
    const instance = res.headers["x-ollama-fleet-instance"];
    if (typeof instance === "string") rec.instance = instance;
    let buffered = "";
    let last = "";
    for await (const chunk of res.body) {
      buffered += (chunk as Buffer).toString("utf8");
      const cut = buffered.lastIndexOf("\n");
      if (cut < 0) continue;
      rec.firstLineMs ??= elapsed();
      const lines = buffered.slice(0, cut).split("\n");
      buffered = buffered.slice(cut + 1);
      for (let i = lines.length - 1; i >= 0; i--) {
        if (lines[i]!.trim() !== "") {
          last = lines[i]!;
          break;
        }
      }
    }
    if (buffered.trim() !== "") last = buffered;
    rec.endMs = elapsed();
    if (res.statusCode !== 200) {
      rec.outcome = `http_${res.statusCode}`;
      return rec;
    }
    const final = JSON.parse(last) as {
      done?: boolean;
      eval_count?: number;
      load_duration?: number;
      error?: string;
    };
    if (final.error !== undefined || final.done !== true) {
      rec.outcome = "stream_error";
      return rec;
    }
    rec.outputTokens = final.eval_count ?? 0;
    if (final.load_duration !== undefined) rec.loadMs = final.load_duration / 1e6;
    rec.outcome = "ok";
  } catch {
    rec.outcome = signal.aborted ? "cut" : "network";
    rec.endMs = undefined;
  }
  return rec;
}

/** Options of one closed-loop saturation run. */
export interface ClosedLoopOptions {
  url: string;
  /** Requests in order; their arrival times are ignored. */
  requests: ScheduledRequest[];
  /** Requests kept outstanding at all times (in flight at the instances or waiting in the gateway). */
  outstanding: number;
  /** Wall milliseconds after which no request is started and those still running are cut off. */
  durationMs: number;
}

/**
 * Keeps `outstanding` requests of the list open, each answer letting the next one go, until the duration
 * ends: a backlog of constant depth, so the fleet is saturated without a queue that grows without bound.
 */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<RequestRecord[]> {
  const pool = new Pool(options.url, { connections: 4096, pipelining: 1, keepAliveTimeout: 30_000 });
  const cutoff = new AbortController();
  setMaxListeners(0, cutoff.signal);
  const start = performance.now();
  const elapsed = (): number => performance.now() - start;
  const cutTimer = setTimeout(() => cutoff.abort(), options.durationMs);
  const records: RequestRecord[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!cutoff.signal.aborted && next < options.requests.length) {
      records.push(await send(pool, options.requests[next++]!, elapsed, cutoff.signal));
    }
  };
  try {
    await Promise.all(Array.from({ length: options.outstanding }, worker));
    return records.sort((a, b) => a.index - b.index);
  } finally {
    clearTimeout(cutTimer);
    await pool.destroy();
  }
}
