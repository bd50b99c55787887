/**
 * The suite's two burst checks, each on fresh processes: an embedding burst (many small single-input
 * calls at once; with EnableBatchProcessing the gateway may merge them into few upstream calls) and a
 * coalescing burst (N identical deterministic generations at once; with EnableRequestCoalescing exactly
 * one upstream call should serve them all).
 */
import { Pool } from "undici";
import { startEmulatorProcess, startGatewayProcess, type Started } from "./processes.js";
import { cellIni, type Variant } from "./suite-cell.js";

/** Result of one burst. */
export interface BurstResult {
  kind: "embed-burst" | "coalesce";
  variant: string;
  requests: number;
  ok: number;
  /** Distinct answer bodies among the OK ones (coalescing: 1 when every client got the same answer). */
  distinctAnswers: number;
  wallSeconds: number;
  /** Answers per wall second, from the first send to the last answer. */
  requestsPerWallSec: number;
  /** Inference calls the emulators received (`/api/embed`, `/api/generate`, …). */
  upstreamCalls: number;
}

const INFERENCE = ["/api/embed", "/api/embeddings", "/v1/embeddings", "/api/generate", "/api/chat"];

async function withFleet<T>(
  models: string,
  variant: Variant,
  timeScale: number,
  body: (gatewayUrl: string, upstreamCalls: () => Promise<number>) => Promise<T>,
): Promise<T> {
  const started: Started[] = [];
  try {
    const emulators = await Promise.all(
      [0, 1, 2].map(() =>
        startEmulatorProcess(
          ["--gpu", "RTX 3060:12", "--models", models, "--parallel", "4", "--time-scale", String(timeScale)],
          { quiet: true },
        ),
      ),
    );
    started.push(...emulators);
    const gateway = await startGatewayProcess(
      emulators.map((e) => e.url),
      ["--log-level", "error"],
      {
        instances: emulators.map(() => ({ memoryLimit: "12GiB", maxConcurrentRequests: 4 })),
        ini: cellIni(variant, timeScale),
      },
    );
    started.push(gateway);
    const upstreamCalls = async (): Promise<number> => {
      const all = await Promise.all(
        emulators.map(
          async (e) =>
            (
              (await (await fetch(`${e.url}/__sim/stats`)).json()) as {
                requests: { byEndpoint: Record<string, number> };
              }
            ).requests.byEndpoint,
        ),
      );
      return all.reduce((n, by) => n + INFERENCE.reduce((m, p) => m + (by[p] ?? 0), 0), 0);
    };
    return await body(gateway.url, upstreamCalls);
  } finally {
    await Promise.all(started.reverse().map((s) => s.stop()));
  }
}

async function burst(
  url: string,
  path: string,
  bodies: string[],
): Promise<{ ok: number; distinct: number; seconds: number }> {
  const pool = new Pool(url, { connections: 1024, pipelining: 1 });
  const t0 = performance.now();
  try {
    const answers = await Promise.all(
      bodies.map(async (body) => {
        try {
          const res = await pool.request({
            method: "POST",
            path,
            body,
            headers: { "content-type": "application/json" },
          });
          const text = await res.body.text();
          return res.statusCode === 200 ? text : undefined;
        } catch {
          return undefined;
        }
      }),
    );
    const ok = answers.filter((a): a is string => a !== undefined);
    // Timings differ between answers even when the content is shared: compare the content only.
    const content = ok.map((a) => {
      const j = JSON.parse(a) as { response?: string; embeddings?: unknown };
      return JSON.stringify(j.response ?? j.embeddings ?? a);
    });
    return { ok: ok.length, distinct: new Set(content).size, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await pool.destroy();
  }
}

/** `requests` single-input `/api/embed` calls sent at once, through a gateway configured as `variant`. */
export async function embedBurst(variant: Variant, requests: number): Promise<BurstResult> {
  return withFleet("nomic-embed-text", variant, 10, async (url, upstreamCalls) => {
    // A first call loads the model on one instance, as any warm fleet would have it.
    await burst(url, "/api/embed", [JSON.stringify({ model: "nomic-embed-text", input: "warm up" })]);
    const before = await upstreamCalls();
    const bodies = Array.from({ length: requests }, (_, i) =>
      JSON.stringify({ model: "nomic-embed-text", input: `short sentence number ${i} to embed` }),
    );
    const r = await burst(url, "/api/embed", bodies);
    return {
      kind: "embed-burst",
      variant: variant.id,
      requests,
      ok: r.ok,
      distinctAnswers: r.distinct,
      wallSeconds: r.seconds,
      requestsPerWallSec: r.ok / r.seconds,
      upstreamCalls: (await upstreamCalls()) - before,
    };
  });
}

/** `requests` identical deterministic `/api/generate` calls (temperature 0, fixed seed) sent at once. */
export async function coalesceBurst(variant: Variant, requests: number): Promise<BurstResult> {
  const model = "llama3.1:8b";
  return withFleet(model, variant, 10, async (url, upstreamCalls) => {
    await burst(url, "/api/generate", [JSON.stringify({ model, prompt: "warm up", stream: false })]);
    const before = await upstreamCalls();
    const body = JSON.stringify({
      model,
      prompt: "Summarise the design of a multi-GPU gateway in three sentences.",
      stream: false,
      options: { temperature: 0, seed: 7, num_predict: 48 },
    });
    const r = await burst(
      url,
      "/api/generate",
      Array.from({ length: requests }, () => body),
    );
    return {
      kind: "coalesce",
      variant: variant.id,
      requests,
      ok: r.ok,
      distinctAnswers: r.distinct,
      wallSeconds: r.seconds,
      requestsPerWallSec: r.ok / r.seconds,
      upstreamCalls: (await upstreamCalls()) - before,
    };
  });
}
