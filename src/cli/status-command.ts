/** `ollama-fleet status [--gateway URL] [--admin-key K] [--watch [s]] [--json]`: the fleet from a running gateway. */
import { DEFAULT_INSTANCE_CAPACITY } from "../backend/request-router.js";
import {
  buildStatusReport,
  formatStatusTable,
  type FleetStatusAnswer,
  type GpuAnswer,
  type InstanceAnswer,
  type StatusReport,
} from "./status-report.js";

/** Flags of `status` as commander parses them. */
export interface StatusFlags {
  /** Gateway base URL; default $OLLAMA_FLEET_GATEWAY, else http://127.0.0.1:11400. */
  gateway?: string;
  /** Admin key; default $OLLAMA_FLEET_ADMIN_KEY. */
  adminKey?: string;
  /** Redraw every N seconds (true: every 2 s) until interrupted. */
  watch?: boolean | string;
  /** Print the report as JSON. */
  json?: boolean;
}

/** What runStatus talks to; the defaults are the real process. */
export interface StatusDeps {
  write?: (text: string) => void;
  writeError?: (text: string) => void;
  env?: Record<string, string | undefined>;
  /** Ends a --watch loop (default: SIGINT / SIGTERM). */
  signal?: AbortSignal;
  /** Whether output is a terminal (colours, screen clearing); default process.stdout.isTTY. */
  tty?: boolean;
  now?: () => number;
}

/** Answers within this long, or the gateway counts as unreachable. */
const REQUEST_TIMEOUT_MS = 5000;

/** Default redraw period of --watch, seconds. */
const DEFAULT_WATCH_SECONDS = 2;

/** Refused or unreachable: the message says which and what to do. */
class StatusError extends Error {}

async function getJson<T>(base: string, path: string, key: string | undefined): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      headers: key ? { authorization: `Bearer ${key}` } : {},
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new StatusError(`cannot reach the gateway at ${base}: ${cause}`);
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      const body = JSON.parse(text) as { error?: string | { message?: string } };
      message = typeof body.error === "string" ? body.error : (body.error?.message ?? text);
    } catch {
      // not JSON: show the text
    }
    const hint =
      res.status === 401 || res.status === 403
        ? " (pass --admin-key or set OLLAMA_FLEET_ADMIN_KEY to the gateway's AdminKey)"
        : "";
    throw new StatusError(`${path}: HTTP ${res.status}: ${message}${hint}`);
  }
  return JSON.parse(text) as T;
}

/** Asks the gateway and builds the report. */
export async function fetchStatusReport(
  gateway: string,
  adminKey: string | undefined,
): Promise<StatusReport> {
  const base = gateway.replace(/\/+$/, "");
  const [status, instances, gpus] = await Promise.all([
    getJson<FleetStatusAnswer>(base, "/fleet/status", adminKey),
    getJson<{ strategy: string; instances: InstanceAnswer[] }>(base, "/fleet/instances", adminKey),
    // GPU readings come from the dashboard's snapshot; an older gateway without it still gets a table.
    getJson<{ gpuSource: "measured" | "estimated"; gpus: GpuAnswer[] }>(
      base,
      "/dashboard/state?series=none",
      adminKey,
    )
      .then((s) => ({ source: s.gpuSource, gpus: s.gpus }))
      .catch(() => undefined),
  ]);
  return buildStatusReport({
    url: base,
    status,
    instances,
    gpus,
    defaultCapacity: DEFAULT_INSTANCE_CAPACITY,
  });
}

/** Prints the fleet once, or redraws it until interrupted; returns the exit status (0 ok, 1 degraded, 2 error). */
export async function runStatus(flags: StatusFlags, deps: StatusDeps = {}): Promise<number> {
  const write = deps.write ?? ((t: string) => void process.stdout.write(t));
  const writeError = deps.writeError ?? ((t: string) => void process.stderr.write(t));
  const env = deps.env ?? process.env;
  const gateway = flags.gateway ?? env.OLLAMA_FLEET_GATEWAY ?? "http://127.0.0.1:11400";
  const adminKey = flags.adminKey ?? env.OLLAMA_FLEET_ADMIN_KEY;
  const tty = deps.tty ?? process.stdout.isTTY === true;
  const color = tty && env.NO_COLOR === undefined;
  const now = deps.now ?? Date.now;

  const once = async (): Promise<number> => {
    try {
      const report = await fetchStatusReport(gateway, adminKey);
      write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatusTable(report, color));
      return report.healthy ? 0 : 1;
    } catch (err) {
      if (!(err instanceof StatusError)) throw err;
      writeError(`ollama-fleet status: ${err.message}\n`);
      return 2;
    }
  };

  if (flags.watch === undefined || flags.watch === false) return once();
  const seconds = flags.watch === true ? DEFAULT_WATCH_SECONDS : Number(flags.watch);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    writeError(`ollama-fleet status: --watch takes a number of seconds > 0, got '${String(flags.watch)}'\n`);
    return 2;
  }
  const stop = deps.signal ?? interruptSignal();
  let code = 0;
  while (!stop.aborted) {
    // Clear the screen and home the cursor, so each frame replaces the last (not in --json or a pipe).
    if (tty && !flags.json) write("\x1b[H\x1b[2J");
    if (!flags.json) {
      const at = new Date(now()).toLocaleTimeString("en-GB", { hour12: false });
      write(`every ${seconds} s · ${at} · Ctrl-C to stop\n`);
    }
    code = await once();
    await sleep(seconds * 1000, stop);
  }
  return code;
}

/** Aborted by the first Ctrl-C or SIGTERM. */
function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return controller.signal;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
