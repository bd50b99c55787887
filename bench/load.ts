/** Closed-loop HTTP load: `concurrency` workers send requests back to back and record latencies. */
import { Pool } from "undici";

/** One benchmark request. */
export interface LoadRequest {
  path: string;
  body: string;
}

/** Latency and throughput of one load run. */
export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

/** Runs `total` requests against `url` with `concurrency` connections and reports latencies. */
export async function runLoad(
  url: string,
  req: LoadRequest,
  concurrency: number,
  total: number,
): Promise<LoadResult> {
  const pool = new Pool(url, { connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      const t0 = process.hrtime.bigint();
      try {
        const res = await pool.request({
          method: "POST",
          path: req.path,
          body: req.body,
          headers: { "content-type": "application/json" },
        });
        await res.body.text();
        if (res.statusCode !== 200) errors++;
      } catch {
        errors++;
      }
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await pool.close();
  return summarizeLatencies(latencies, errors, seconds);
}

/** Request count, throughput and latency percentiles of a closed-loop run (sorts `latencies` in place). */
export function summarizeLatencies(latencies: number[], errors: number, seconds: number): LoadResult {
  latencies.sort((a, b) => a - b);
  const q = (p: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return {
    requests: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    meanMs: latencies.reduce((s, x) => s + x, 0) / Math.max(1, latencies.length),
  };
}
