/**
 * `npm run bench -- embed-burst`: request sharing on vs off, in the same run, in front of the same
 * emulator fleet. (1) Many small single-input embeddings from a closed loop at several concurrencies,
 * every input distinct (so only merging, not coalescing, can help): throughput, latency, upstream calls.
 * (2) N identical deterministic chats at once: upstream calls and wall time.
 */
import { Pool } from "undici";
import { startEmulatorProcess, startGatewayProcess, type Started } from "./processes.js";

const EMBED_MODEL = "nomic-embed-text";
const CHAT_MODEL = "llama3.2:1b";
const UPSTREAM_PATHS = ["/api/embed", "/api/embeddings", "/v1/embeddings", "/api/chat"];

/** One measured cell. */
export interface EmbedBurstRow {
  workload: "embed" | "identical-chat";
  sharing: "on" | "off";
  concurrency: number;
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Inference calls the emulators received for this cell. */
  upstreamCalls: number;
  /** Distinct answers among the OK ones (identical chats: 1 when every client got the same). */
  distinctAnswers: number;
}

/** Options of the benchmark. */
export interface EmbedBurstOptions {
  concurrencies: number[];
  requestsPerCell: number;
  identicalChats: number[];
  log: (line: string) => void;
}

/** Runs the benchmark and returns its rows. */
export async function benchEmbedBurst(options: EmbedBurstOptions): Promise<EmbedBurstRow[]> {
  const started: Started[] = [];
  try {
    // Two instances of a mid-range card; real time (time scale 1), embedding models get one slot each.
    const emulators = await Promise.all(
      [0, 1].map(() =>
        startEmulatorProcess(
          [
            "--gpu",
            "RTX 3060:12",
            "--models",
            `${EMBED_MODEL},${CHAT_MODEL}`,
            "--parallel",
            "4",
            "--max-queue",
            "100000",
          ],
          { quiet: true },
        ),
      ),
    );
    started.push(...emulators);
    const urls = emulators.map((e) => e.url);
    const gateways = {
      on: await startGatewayProcess(urls, ["--log-level", "error"]),
      off: await startGatewayProcess(urls, ["--log-level", "error"], {
        ini: "[GPU_LoadBalancing]\nEnableBatchProcessing = false\n[Gateway]\nEnableRequestCoalescing = false\nMaxQueueSize = 100000\n",
      }),
    };
    started.push(gateways.on, gateways.off);
    const upstream = async (): Promise<number> => {
      const all = await Promise.all(
        urls.map(async (u) => {
          const s = (await (await fetch(`${u}/__sim/stats`)).json()) as {
            requests: { byEndpoint: Record<string, number> };
          };
          return UPSTREAM_PATHS.reduce((n, p) => n + (s.requests.byEndpoint[p] ?? 0), 0);
        }),
      );
      return all.reduce((a, b) => a + b, 0);
    };
    // Load both models on both instances (through the gateway that spreads calls without sharing).
    for (let i = 0; i < 4; i++) {
      await closedLoop(gateways.off.url, "/api/embed", 2, 2, (n) => embedBody(`warm ${i} ${n}`));
      await closedLoop(gateways.off.url, "/api/chat", 2, 2, () => chatBody(`warm ${i}`, 1));
    }

    const rows: EmbedBurstRow[] = [];
    let seq = 0;
    for (const concurrency of options.concurrencies) {
      // Alternate the order per cell so drift on a shared machine does not favour one side.
      const order = rows.length % 4 === 0 ? (["on", "off"] as const) : (["off", "on"] as const);
      for (const sharing of order) {
        const base = seq;
        seq += options.requestsPerCell;
        const before = await upstream();
        const r = await closedLoop(
          gateways[sharing].url,
          "/api/embed",
          concurrency,
          options.requestsPerCell,
          (n) => embedBody(`short sentence number ${base + n} to embed`),
        );
        const row: EmbedBurstRow = {
          workload: "embed",
          sharing,
          concurrency,
          ...r,
          upstreamCalls: (await upstream()) - before,
          distinctAnswers: r.distinct,
        };
        rows.push(row);
        options.log(
          `embed c=${concurrency} sharing ${sharing}: ${row.rps.toFixed(0)} req/s p50 ${row.p50Ms.toFixed(1)} ms p99 ${row.p99Ms.toFixed(1)} ms, ${row.upstreamCalls} upstream calls, ${row.errors} errors`,
        );
      }
    }
    for (const n of options.identicalChats) {
      for (const sharing of ["on", "off"] as const) {
        const body = chatBody(`identical question ${n}`, 32);
        const before = await upstream();
        const r = await closedLoop(gateways[sharing].url, "/api/chat", n, n, () => body);
        const row: EmbedBurstRow = {
          workload: "identical-chat",
          sharing,
          concurrency: n,
          ...r,
          upstreamCalls: (await upstream()) - before,
          distinctAnswers: r.distinct,
        };
        rows.push(row);
        options.log(
          `${n} identical chats, sharing ${sharing}: ${row.upstreamCalls} upstream calls, ${row.seconds.toFixed(2)} s, ${row.distinctAnswers} distinct answer(s)`,
        );
      }
    }
    return rows;
  } finally {
    await Promise.all(started.reverse().map((s) => s.stop()));
  }
}

function embedBody(input: string): string {
  return JSON.stringify({ model: EMBED_MODEL, input });
}

function chatBody(prompt: string, numPredict: number): string {
  return JSON.stringify({
    model: CHAT_MODEL,
    messages: [{ role: "user", content: prompt }],
    stream: false,
    options: { temperature: 0, num_predict: numPredict },
  });
}

/** `total` requests from `concurrency` workers back to back; the body of request n is `body(n)`. */
async function closedLoop(
  url: string,
  path: string,
  concurrency: number,
  total: number,
  body: (n: number) => string,
): Promise<
  Omit<EmbedBurstRow, "workload" | "sharing" | "concurrency" | "upstreamCalls" | "distinctAnswers"> & {
    distinct: number;
  }
> {
  const pool = new Pool(url, { connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  const answers = new Set<string>();
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total) {
      const n = next++;
      const start = performance.now();
      try {
        const res = await pool.request({ method: "POST", path, body: body(n) });
        const text = await res.body.text();
        if (res.statusCode !== 200) errors++;
        else if (path === "/api/chat")
          answers.add(String((JSON.parse(text) as { message?: { content?: string } }).message?.content));
      } catch {
        errors++;
      }
      latencies.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
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
    distinct: answers.size,
  };
}

/** Markdown tables of the rows, with the on/off ratios of the same run. */
export function embedBurstMarkdown(rows: EmbedBurstRow[]): string {
  const out = [
    "| c | sharing | req/s | p50 ms | p99 ms | upstream calls | inputs per call | req/s on ÷ off | errors |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows.filter((x) => x.workload === "embed")) {
    const off = rows.find(
      (x) => x.workload === "embed" && x.sharing === "off" && x.concurrency === r.concurrency,
    );
    const ratio = r.sharing === "on" && off ? (r.rps / off.rps).toFixed(2) : "";
    out.push(
      `| ${r.concurrency} | ${r.sharing} | ${r.rps.toFixed(0)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.upstreamCalls} | ${(r.requests / Math.max(1, r.upstreamCalls)).toFixed(1)} | ${ratio} | ${r.errors} |`,
    );
  }
  out.push(
    "",
    "| identical chats | sharing | upstream calls | wall s | distinct answers | errors |",
    "| --- | --- | --- | --- | --- | --- |",
  );
  for (const r of rows.filter((x) => x.workload === "identical-chat")) {
    out.push(
      `| ${r.concurrency} | ${r.sharing} | ${r.upstreamCalls} | ${r.seconds.toFixed(2)} | ${r.distinctAnswers} | ${r.errors} |`,
    );
  }
  return out.join("\n");
}
