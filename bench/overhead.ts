/**
 * Gateway overhead: tiny requests (num_predict 1) straight to one emulator vs through the gateway
 * (and through nginx when installed), in the same run, at several concurrencies.
 */
import { runLoad, type LoadResult } from "./load.js";
import { startEmulatorProcess, startGatewayProcess, startNginx, type Started } from "./processes.js";

/** One row of the overhead report. */
export interface OverheadRow {
  target: string;
  mode: "non-stream" | "stream";
  concurrency: number;
  result: LoadResult;
}

const MODEL = "tiny:latest";

/** Runs the overhead benchmark and returns its rows. */
export async function benchOverhead(options: {
  requests: number;
  concurrencies: number[];
}): Promise<OverheadRow[]> {
  const emulator = await startEmulatorProcess([
    "--models",
    `${MODEL}:0.1:0.1`,
    "--parallel",
    "128",
    "--max-queue",
    "100000",
    "--time-scale",
    "100000",
  ]);
  const started: Started[] = [emulator];
  try {
    // The instance's capacity must match the emulator's 128 slots, as nginx has no limit: with the default
    // of 4 the gateway would queue what nginx passes through, and the figure would measure that queue.
    const gateway = await startGatewayProcess([emulator.url], ["--log-level", "warn"], {
      instances: [{ maxConcurrentRequests: 128 }],
    });
    started.push(gateway);
    const nginx = await startNginx([emulator.url]);
    if (nginx) started.push(nginx);
    const targets: [string, Started][] = [
      ["direct", emulator],
      ["gateway", gateway],
    ];
    if (nginx) targets.push(["nginx", nginx]);
    const rows: OverheadRow[] = [];
    for (const mode of ["non-stream", "stream"] as const) {
      const body = JSON.stringify({
        model: MODEL,
        prompt: "hi",
        stream: mode === "stream",
        options: { num_predict: 1 },
      });
      for (const concurrency of options.concurrencies) {
        for (const [name, t] of targets) {
          await runLoad(t.url, { path: "/api/generate", body }, concurrency, Math.min(500, options.requests)); // warm-up
          const result = await runLoad(t.url, { path: "/api/generate", body }, concurrency, options.requests);
          rows.push({ target: name, mode, concurrency, result });
          process.stderr.write(
            `${mode} c=${concurrency} ${name}: ${result.rps.toFixed(0)} req/s p50 ${result.p50Ms.toFixed(2)} ms p99 ${result.p99Ms.toFixed(2)} ms errors ${result.errors}\n`,
          );
        }
      }
    }
    return rows;
  } finally {
    await Promise.all(started.reverse().map((s) => s.stop()));
  }
}

/** Markdown table of the rows, with added latency and throughput ratios against the same run's baselines. */
export function overheadMarkdown(rows: OverheadRow[]): string {
  const out = [
    "| mode | c | target | req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | req/s vs nginx | errors |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const direct = rows.find(
      (d) => d.target === "direct" && d.mode === r.mode && d.concurrency === r.concurrency,
    );
    const nginx = rows.find(
      (d) => d.target === "nginx" && d.mode === r.mode && d.concurrency === r.concurrency,
    );
    const added = (x: number, y: number | undefined): string =>
      y === undefined || r.target === "direct" ? "" : (x - y).toFixed(2);
    out.push(
      `| ${r.mode} | ${r.concurrency} | ${r.target} | ${r.result.rps.toFixed(0)} | ${r.result.p50Ms.toFixed(2)} | ${r.result.p99Ms.toFixed(2)} | ${added(r.result.p50Ms, direct?.result.p50Ms)} | ${added(r.result.p99Ms, direct?.result.p99Ms)} | ${nginx && r.target === "gateway" ? (r.result.rps / nginx.result.rps).toFixed(2) : ""} | ${r.result.errors} |`,
    );
  }
  return out.join("\n");
}
