/**
 * The suite's load generator: every session starts at its own instant (open loop across sessions, as
 * independent users), and within a session each turn is sent after the previous answer and a think time,
 * with that answer appended to the history, as a chat client does. Requests are streamed `/api/chat`.
 */
import { setMaxListeners } from "node:events";
import { performance } from "node:perf_hooks";
import { Pool } from "undici";
import type { SuiteRecord } from "./suite-metrics.js";
import type { SuiteSession } from "./workloads/suite-workloads.js";

/** Options of one run. */
export interface SessionRunOptions {
  url: string;
  sessions: SuiteSession[];
  /** Emulated ms per wall ms. */
  timeScale: number;
  /** Wall ms after the start at which nothing new starts and requests still running are aborted. */
  cutoffMs: number;
  /** Called once at this wall ms after the start (e.g. to kill an instance), if given. */
  at?: { ms: number; run: () => Promise<void> };
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

/** Runs every session and returns one record per request sent. */
export async function runSessions(o: SessionRunOptions): Promise<SuiteRecord[]> {
  const pool = new Pool(o.url, { connections: 4096, pipelining: 1, keepAliveTimeout: 30_000 });
  const cutoff = new AbortController();
  setMaxListeners(0, cutoff.signal);
  const start = performance.now();
  const elapsed = (): number => performance.now() - start;
  const cutTimer = setTimeout(() => cutoff.abort(), o.cutoffMs);
  const records: SuiteRecord[] = [];
  const side = o.at
    ? sleep(o.at.ms, cutoff.signal).then(() => (cutoff.signal.aborted ? undefined : o.at!.run()))
    : Promise.resolve();
  const session = async (s: SuiteSession): Promise<void> => {
    await sleep(s.startMs / o.timeScale - elapsed(), cutoff.signal);
    const messages: { role: string; content: string }[] = [{ role: "system", content: s.system }];
    for (let k = 0; k < s.turns.length; k++) {
      const turn = s.turns[k]!;
      await sleep(turn.thinkMs / o.timeScale, cutoff.signal);
      if (cutoff.signal.aborted) return;
      messages.push({ role: "user", content: turn.user });
      const body = JSON.stringify({
        model: s.model,
        messages,
        stream: true,
        options: { num_predict: turn.numPredict, seed: s.seed + k },
      });
      const { record, answer } = await chat(pool, body, elapsed, cutoff.signal);
      record.session = s.index;
      record.turn = k;
      records.push(record);
      if (record.outcome !== "ok") return;
      messages.push({ role: "assistant", content: answer });
    }
  };
  try {
    await Promise.all([...o.sessions.map(session), side]);
    return records.sort((a, b) => a.sentMs - b.sentMs);
  } finally {
    clearTimeout(cutTimer);
    await pool.destroy();
  }
}

async function chat(
  pool: Pool,
  body: string,
  elapsed: () => number,
  signal: AbortSignal,
): Promise<{ record: SuiteRecord; answer: string }> {
  const rec: SuiteRecord = {
    session: -1,
    turn: -1,
    sentMs: elapsed(),
    outputTokens: 0,
    promptTokens: 0,
    outcome: "network",
  };
  let answer = "";
  try {
    const res = await pool.request({
      method: "POST",
      path: "/api/chat",
      body,
      headers: { "content-type": "application/json" },
      signal,
    });
    const instance = res.headers["x-ollama-fleet-instance"];
    if (typeof instance === "string") rec.instance = instance;
    let buffered = "";
    let final: { done?: boolean; error?: string; eval_count?: number; prompt_eval_count?: number } = {};
    for await (const chunk of res.body) {
      buffered += (chunk as Buffer).toString("utf8");
      const cut = buffered.lastIndexOf("\n");
      if (cut < 0) continue;
      rec.firstMs ??= elapsed();
      for (const line of buffered.slice(0, cut).split("\n")) {
        if (line.trim() === "") continue;
        const msg = JSON.parse(line) as typeof final & { message?: { content?: string } };
        answer += msg.message?.content ?? "";
        final = msg;
      }
      buffered = buffered.slice(cut + 1);
    }
    rec.endMs = elapsed();
    if (res.statusCode !== 200) {
      rec.outcome = `http_${res.statusCode}`;
      return { record: rec, answer };
    }
    if (final.error !== undefined || final.done !== true) {
      rec.outcome = "stream_error";
      return { record: rec, answer };
    }
    rec.outputTokens = final.eval_count ?? 0;
    rec.promptTokens = final.prompt_eval_count ?? 0;
    rec.outcome = "ok";
  } catch {
    rec.outcome = signal.aborted ? "cut" : "network";
    rec.endMs = undefined;
  }
  return { record: rec, answer };
}
