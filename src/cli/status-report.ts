/** What `ollama-fleet status` shows: the report built from the admin API's answers, and its table (pure). */

/** The parts of GET /fleet/status the report uses. */
export interface FleetStatusAnswer {
  gateway: { version: string; emulated: boolean };
  instances: { total: number; healthy: number };
  degraded: boolean;
  degradation?: string[];
  inFlight: number;
  queue: QueueAnswer;
}

/** The queue as the admin API reports it. */
export interface QueueAnswer {
  depth: number;
  capacity: number;
  byModel: Record<string, { high: number; normal: number; low: number }>;
  enqueuedTotal: number;
  rejectedTotal: Record<string, number>;
  oldestWaitMs: number;
}

/** The parts of one GET /fleet/instances entry the report uses. */
export interface InstanceAnswer {
  id: string;
  name: string;
  gpuId: number;
  state: string;
  inFlight: number;
  maxConcurrentRequests: number | null | undefined;
  loadedModels: { name: string; sizeVramBytes: number }[];
  requestsTotal: number;
  failuresTotal: number;
  lastError?: string | null | undefined;
  scores: { model: string; score: number }[];
  performance?: { errorRate: number } | null | undefined;
}

/** One GPU reading from /dashboard/state (optional: the table falls back to what instances say). */
export interface GpuAnswer {
  gpuId: number;
  name?: string | undefined;
  utilizationPercent: number | null;
  memoryUsedBytes?: number | undefined;
  memoryTotalBytes?: number | undefined;
  temperatureC?: number | undefined;
  powerW?: number | undefined;
  condition?: string | undefined;
}

/** The report `--json` prints (documented in docs/observability.md). */
export interface StatusReport {
  gateway: { url: string; version: string; emulated: boolean; strategy: string };
  healthy: boolean;
  degradation: string[];
  inFlight: number;
  gpus: {
    gpuId: number;
    name: string | null;
    /** measured: the GPU monitor; estimated: busy slots ÷ capacity; null: no reading. */
    source: "measured" | "estimated" | null;
    utilizationPercent: number | null;
    memoryUsedBytes: number | null;
    memoryTotalBytes: number | null;
    temperatureC: number | null;
    powerW: number | null;
    instances: string[];
    loadedModels: string[];
  }[];
  instances: {
    id: string;
    name: string;
    gpuId: number;
    state: string;
    score: number | null;
    inFlight: number;
    capacity: number;
    loadedModels: string[];
    requestsTotal: number;
    failuresTotal: number;
    errorRate: number;
    lastError: string | null;
  }[];
  queue: QueueAnswer;
}

/** Inputs of buildStatusReport: the answers of the gateway. */
export interface StatusInputs {
  url: string;
  status: FleetStatusAnswer;
  instances: { strategy: string; instances: InstanceAnswer[] };
  /** From /dashboard/state, when the gateway answered it. */
  gpus?: { source: "measured" | "estimated"; gpus: GpuAnswer[] } | undefined;
  /** Slots of an instance without max_concurrent_requests (the router's default). */
  defaultCapacity: number;
}

/** Joins the answers into one report. */
export function buildStatusReport(input: StatusInputs): StatusReport {
  const instances = input.instances.instances.map((i) => ({
    id: i.id,
    name: i.name,
    gpuId: i.gpuId,
    state: i.state,
    score: i.scores.length === 0 ? null : Math.max(...i.scores.map((s) => s.score)),
    inFlight: i.inFlight,
    capacity: i.maxConcurrentRequests ?? input.defaultCapacity,
    loadedModels: i.loadedModels.map((m) => m.name),
    requestsTotal: i.requestsTotal,
    failuresTotal: i.failuresTotal,
    errorRate: i.performance?.errorRate ?? 0,
    lastError: i.lastError ?? null,
  }));
  const readings = new Map((input.gpus?.gpus ?? []).map((g) => [g.gpuId, g]));
  const ids = [...new Set([...instances.map((i) => i.gpuId), ...readings.keys()])].sort((a, b) => a - b);
  const gpus = ids.map((gpuId) => {
    const on = input.instances.instances.filter((i) => i.gpuId === gpuId);
    const r = readings.get(gpuId);
    const inModels = on.reduce((sum, i) => sum + i.loadedModels.reduce((s, m) => s + m.sizeVramBytes, 0), 0);
    return {
      gpuId,
      name: r?.name ?? null,
      source: r ? (input.gpus?.source ?? null) : null,
      utilizationPercent: r?.utilizationPercent ?? null,
      memoryUsedBytes: r?.memoryUsedBytes ?? inModels,
      memoryTotalBytes: r?.memoryTotalBytes ?? null,
      temperatureC: r?.temperatureC ?? null,
      powerW: r?.powerW ?? null,
      instances: on.map((i) => i.id),
      loadedModels: on.flatMap((i) => i.loadedModels.map((m) => m.name)),
    };
  });
  const s = input.status;
  return {
    gateway: {
      url: input.url,
      version: s.gateway.version,
      emulated: s.gateway.emulated,
      strategy: input.instances.strategy,
    },
    healthy: !s.degraded,
    degradation:
      s.degradation ??
      (s.degraded
        ? [`${s.instances.total - s.instances.healthy} of ${s.instances.total} instances out of service`]
        : []),
    inFlight: s.inFlight,
    gpus,
    instances,
    queue: s.queue,
  };
}

/** ANSI colours, or none. */
interface Paint {
  bold(t: string): string;
  dim(t: string): string;
  state(state: string, t: string): string;
}

const PLAIN: Paint = { bold: (t) => t, dim: (t) => t, state: (_s, t) => t };
const ANSI: Paint = {
  bold: (t) => `\x1b[1m${t}\x1b[22m`,
  dim: (t) => `\x1b[2m${t}\x1b[22m`,
  state: (s, t) => {
    const code = s === "healthy" ? 32 : s === "unhealthy" || s === "open" || s === "lost" ? 31 : 33;
    return `\x1b[${code}m${t}\x1b[39m`;
  },
};

/** The report as the terminal table; `color` adds ANSI colours. */
export function formatStatusTable(r: StatusReport, color = false): string {
  const p = color ? ANSI : PLAIN;
  const lines: string[] = [];
  const emulated = r.gateway.emulated ? ` · ${p.state("draining", "EMULATED fleet")}` : "";
  lines.push(
    `${p.bold(`ollama-fleet ${r.gateway.version}`)} at ${r.gateway.url} · ${r.gateway.strategy}${emulated}`,
  );
  const up = r.instances.filter((i) => i.state === "healthy").length;
  const verdict = r.healthy ? p.state("healthy", "OK") : p.state("unhealthy", "DEGRADED");
  lines.push(
    `${verdict} · ${up}/${r.instances.length} instances healthy · ${r.inFlight} in flight · ` +
      `queue ${r.queue.depth}/${r.queue.capacity}`,
  );
  for (const why of r.degradation) lines.push(`  ${p.state("unhealthy", "!")} ${why}`);

  lines.push("", p.bold("GPUS"));
  lines.push(
    ...table(
      ["GPU", "NAME", "UTIL", "MEMORY", "TEMP", "POWER", "INSTANCES"],
      r.gpus.map((g) => [
        String(g.gpuId),
        g.name ?? "–",
        g.utilizationPercent === null
          ? "–"
          : `${Math.round(g.utilizationPercent)}%${g.source === "estimated" ? " est." : ""}`,
        g.memoryTotalBytes
          ? `${gb(g.memoryUsedBytes)} / ${gb(g.memoryTotalBytes)}`
          : `${gb(g.memoryUsedBytes)} in models`,
        g.temperatureC === null ? "–" : `${Math.round(g.temperatureC)} °C`,
        g.powerW === null ? "–" : `${Math.round(g.powerW)} W`,
        g.instances.join(", ") || "–",
      ]),
      p,
    ),
  );
  if (r.gpus.some((g) => g.source === "estimated")) {
    lines.push(p.dim("  est.: no GPU monitor; utilisation estimated from busy request slots ÷ capacity"));
  }

  lines.push("", p.bold("INSTANCES"));
  lines.push(
    ...table(
      ["ID", "NAME", "GPU", "STATE", "SCORE", "LOAD", "REQUESTS", "FAILURES", "LOADED MODELS"],
      r.instances.map((i) => [
        i.id,
        i.name,
        String(i.gpuId),
        { text: i.state, paint: (t: string) => p.state(i.state, t) },
        i.score === null ? "–" : i.score.toFixed(2),
        `${i.inFlight}/${i.capacity}`,
        String(i.requestsTotal),
        i.failuresTotal === 0 ? "0" : `${i.failuresTotal} (${Math.round(100 * i.errorRate)}% recent)`,
        i.loadedModels.join(", ") || "none loaded",
      ]),
      p,
    ),
  );

  const q = r.queue;
  lines.push("", p.bold("QUEUE"));
  const rejected = Object.entries(q.rejectedTotal)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k.replace(/_/g, " ")} ${n}`);
  lines.push(
    `  ${q.depth} waiting of ${q.capacity} · oldest ${Math.round(q.oldestWaitMs)} ms · ${q.enqueuedTotal} queued so far` +
      (rejected.length ? ` · rejected: ${rejected.join(", ")}` : ""),
  );
  for (const [model, n] of Object.entries(q.byModel)) {
    if (n.high + n.normal + n.low > 0)
      lines.push(`  ${model}: high ${n.high}, normal ${n.normal}, low ${n.low}`);
  }
  return `${lines.join("\n")}\n`;
}

type Cell = string | { text: string; paint: (t: string) => string };

/** Left-aligned columns padded to their widest cell (colour codes added after padding). */
function table(head: string[], rows: Cell[][], p: Paint): string[] {
  const text = (c: Cell): string => (typeof c === "string" ? c : c.text);
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((r) => text(r[k] ?? "").length)));
  const line = (cells: Cell[]): string =>
    `  ${cells
      .map((c, k) => {
        const padded = text(c).padEnd(k === cells.length - 1 ? 0 : (widths[k] ?? 0));
        return typeof c === "string" ? padded : c.paint(padded);
      })
      .join("  ")}`.trimEnd();
  return [p.dim(line(head)), ...(rows.length ? rows.map(line) : ["  (none)"])];
}

function gb(bytes: number | null): string {
  return bytes === null ? "–" : `${(bytes / 1e9).toFixed(1)} GB`;
}
