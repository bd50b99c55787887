/**
 * `npm run bench -- embed-burst`: request sharing on vs off, in the same run, in front of the same
 * emulator fleet. (1) Many small single-input embeddings from a closed loop at several concurrencies,
 * every input distinct (so only merging, not coalescing, can help): throughput, latency, upstream calls.
 * (2) N identical deterministic chats at once: upstream calls and wall time.
 */
import { readFileSync } from "node:fs";
import { Pool } from "undici";
import { startEmulatorProcess, startGatewayProcess, type Started } from "./processes.js";
import { summarizeLatencies, type LoadResult } from "./load.js";

const EMBED_MODEL = "nomic-embed-text";
const CHAT_MODEL = "llama3.2:1b";
const UPSTREAM_PATHS = ["/api/embed", "/api/embeddings", "/v1/embeddings", "/api/chat"];

/** One measured cell: the closed loop's figures (without the mean) and what the fleet did for it. */
export interface EmbedBurstRow extends Omit<LoadResult, "meanMs"> {
  workload: "embed" | "identical-chat";
  sharing: "on" | "off";
  concurrency: number;
  /** Inference calls the emulators received for this cell. */
  upstreamCalls: number;
  /** Distinct answers among the OK ones (identical chats: 1 when every client got the same). */
  distinctAnswers: number;
  /** CPU time per request of the gateway, and of the emulators together (from /proc, robust to load). */
  gatewayCpuMsPerRequest: number;
  emulatorCpuMsPerRequest: number;
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
    // Load both models on both instances, and warm both gateways up (JIT) before measuring.
    for (let i = 0; i < 4; i++) {
      await closedLoop(gateways.off.url, "/api/embed", 2, 2, (n) => embedBody(`warm ${i} ${n}`));
      await closedLoop(gateways.off.url, "/api/chat", 2, 2, () => chatBody(`warm ${i}`, 1));
    }
    for (const g of [gateways.on, gateways.off]) {
      await closedLoop(g.url, "/api/embed", 16, 300, (n) => embedBody(`warm-up sentence ${n}`));
    }

    /** Runs one cell through a gateway and measures upstream calls and CPU around it. */
    const measure = async (
      cell: Pick<EmbedBurstRow, "workload" | "sharing" | "concurrency">,
      path: string,
      total: number,
      body: (n: number) => string,
    ): Promise<EmbedBurstRow> => {
      const gateway = gateways[cell.sharing];
      const before = await upstream();
      const cpuBefore = cpuMs([gateway], emulators);
      const {
        distinct,
        meanMs: _meanMs,
        ...r
      } = await closedLoop(gateway.url, path, cell.concurrency, total, body);
      const cpu = cpuMs([gateway], emulators);
      return {
        ...cell,
        ...r,
        upstreamCalls: (await upstream()) - before,
        distinctAnswers: distinct,
        gatewayCpuMsPerRequest: (cpu.gateway - cpuBefore.gateway) / r.requests,
        emulatorCpuMsPerRequest: (cpu.emulators - cpuBefore.emulators) / r.requests,
      };
    };

    const rows: EmbedBurstRow[] = [];
    let seq = 0;
    for (const concurrency of options.concurrencies) {
      // Alternate the order per cell so drift on a shared machine does not favour one side.
      const order = rows.length % 4 === 0 ? (["on", "off"] as const) : (["off", "on"] as const);
      for (const sharing of order) {
        const base = seq;
        seq += options.requestsPerCell;
        const row = await measure(
          { workload: "embed", sharing, concurrency },
          "/api/embed",
          options.requestsPerCell,
          (n) => embedBody(`short sentence number ${base + n} to embed`),
        );
        rows.push(row);
        options.log(
          `embed c=${concurrency} sharing ${sharing}: ${row.rps.toFixed(0)} req/s p50 ${row.p50Ms.toFixed(1)} ms p99 ${row.p99Ms.toFixed(1)} ms, ${row.upstreamCalls} upstream calls, ${row.errors} errors`,
        );
      }
    }
    for (const n of options.identicalChats) {
      for (const sharing of ["on", "off"] as const) {
        const body = chatBody(`identical question ${n}`, 32);
        const row = await measure(
          { workload: "identical-chat", sharing, concurrency: n },
          "/api/chat",
          n,
          () => body,
        );
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

/** CPU time (user + system, ms) the processes have used so far, read from /proc/<pid>/stat. */
function cpuMs(gateways: Started[], emulators: Started[]): { gateway: number; emulators: number } {
  const of = (p: Started): number => {
    if (p.pid === undefined) return 0;
    // Fields after the command name: state is field 3, utime 14 and stime 15 (clock ticks of 10 ms).
    const stat = readFileSync(`/proc/${p.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  };
  const sum = (ps: Started[]): number => ps.reduce((n, p) => n + of(p), 0);
  return { gateway: sum(gateways), emulators: sum(emulators) };
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
): Promise<LoadResult & { distinct: number }> {
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
  return { ...summarizeLatencies(latencies, errors, seconds), distinct: answers.size };
}

/** Markdown tables of the rows, with the on/off ratios of the same run. */
export function embedBurstMarkdown(rows: EmbedBurstRow[]): string {
  const out = [
    "| c | sharing | req/s | p50 ms | p99 ms | upstream calls | inputs per call | CPU ms/req gateway | CPU ms/req emulators | req/s on ÷ off | CPU/req off ÷ on | errors |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows.filter((x) => x.workload === "embed")) {
    const off = rows.find(
      (x) => x.workload === "embed" && x.sharing === "off" && x.concurrency === r.concurrency,
    );
    const on = r.sharing === "on" && off;
    const cpu = (x: EmbedBurstRow): number => x.gatewayCpuMsPerRequest + x.emulatorCpuMsPerRequest;
    const ratio = on ? (r.rps / off.rps).toFixed(2) : "";
    const cpuRatio = on ? (cpu(off) / Math.max(1e-9, cpu(r))).toFixed(2) : "";
    out.push(
      `| ${r.concurrency} | ${r.sharing} | ${r.rps.toFixed(0)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.upstreamCalls} | ${(r.requests / Math.max(1, r.upstreamCalls)).toFixed(1)} | ${r.gatewayCpuMsPerRequest.toFixed(3)} | ${r.emulatorCpuMsPerRequest.toFixed(3)} | ${ratio} | ${cpuRatio} | ${r.errors} |`,
    );
  }
  out.push(
    "",
    "| identical chats | sharing | upstream calls | wall s | distinct answers | CPU ms/req gateway + emulators | errors |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const r of rows.filter((x) => x.workload === "identical-chat")) {
    out.push(
      `| ${r.concurrency} | ${r.sharing} | ${r.upstreamCalls} | ${r.seconds.toFixed(2)} | ${r.distinctAnswers} | ${(r.gatewayCpuMsPerRequest + r.emulatorCpuMsPerRequest).toFixed(2)} | ${r.errors} |`,
    );
  }
  return out.join("\n");
}
