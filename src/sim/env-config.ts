/**
 * The settings `ollama serve` reads from its environment (envconfig/config.go), merged with the
 * emulate command's flags; flags win. Invalid environment values are ignored like Ollama does.
 */
import { parseModelList, DEFAULT_MODELS } from "./catalog.js";
import { parseKeepAliveSetting } from "./go-compat.js";
import { cpuOnlyGpu, defaultGpu, parseGpuSpec } from "./perf-model.js";
import type { EmulatorOptions, EvictionPolicy } from "./types.js";

/** The emulate command's flags after parsing (all optional). */
export interface EmulateFlags {
  host?: string;
  port?: number;
  gpu?: string;
  cpu?: boolean;
  models?: string;
  parallel?: number;
  maxLoaded?: number;
  maxQueue?: number;
  keepAlive?: string;
  numCtx?: number;
  timeScale?: number;
  seed?: number;
  id?: string;
  outputTokens?: string;
  downloadMbps?: number;
  eviction?: string;
  ollamaVersion?: string;
}

/** envconfig's OLLAMA_HOST: [scheme://]host[:port], default 127.0.0.1:11434 (80/443 with a scheme). */
export function parseOllamaHost(value: string | undefined): { host: string; port: number } {
  let v = (value ?? "")
    .trim()
    .replace(/^["']|["']$/g, "")
    .trim();
  let defaultPort = 11434;
  const scheme = /^([a-z]+):\/\//i.exec(v);
  if (scheme) {
    if (scheme[1] === "http") defaultPort = 80;
    if (scheme[1] === "https") defaultPort = 443;
    v = v.slice(scheme[0].length);
  }
  v = v.replace(/\/+$/, "");
  const m = /^(\[[^\]]*\]|[^:]*):(\d*)$/.exec(v);
  if (m && m[2] !== "") {
    const port = Number(m[2]);
    const host = m[1]!.replace(/^\[|\]$/g, "");
    return { host: host === "" ? "0.0.0.0" : host, port: port <= 65535 ? port : defaultPort };
  }
  const bare = v.replace(/^\[|\]$/g, "");
  return { host: bare === "" ? "127.0.0.1" : bare, port: defaultPort };
}

function envInt(env: NodeJS.ProcessEnv, name: string, positive = false): number | undefined {
  const raw = env[name]?.trim().replace(/^["']|["']$/g, "");
  if (!raw) return undefined;
  if (!/^-?\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return positive && n <= 0 ? undefined : n;
}

/** Parses "min-max" or "n" for --output-tokens. */
function parseOutputTokens(text: string): { min: number; max: number } {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`--output-tokens wants "MIN-MAX" or "N", got "${text}"`);
  const min = Number(m[1]);
  const max = m[2] !== undefined ? Number(m[2]) : min;
  if (max < min || min < 0) throw new Error(`--output-tokens: MIN must not exceed MAX, got "${text}"`);
  return { min, max };
}

/** Emulator options from flags over environment over defaults; throws on invalid flags. */
export function optionsFrom(flags: EmulateFlags, env: NodeJS.ProcessEnv): EmulatorOptions {
  const listen = parseOllamaHost(env.OLLAMA_HOST);
  const cuda = env.CUDA_VISIBLE_DEVICES;
  const cpuOnly =
    flags.cpu === true ||
    (cuda !== undefined && ["", "-1"].includes(cuda.trim().replace(/^["']|["']$/g, "")));
  const gpuSpec = flags.gpu ?? (env.OLLAMA_FLEET_EMULATE_GPU?.trim() || undefined);
  let gpu = gpuSpec ? parseGpuSpec(gpuSpec) : defaultGpu();
  if (cpuOnly) gpu = cpuOnlyGpu();
  const keepAliveText = flags.keepAlive ?? env.OLLAMA_KEEP_ALIVE?.trim().replace(/^["']|["']$/g, "");
  let keepAliveMs: number | undefined;
  if (keepAliveText) {
    const ns = parseKeepAliveSetting(keepAliveText);
    if (ns === null && flags.keepAlive !== undefined)
      throw new Error(`--keep-alive: invalid duration "${flags.keepAlive}"`);
    if (ns !== null) keepAliveMs = Number.isFinite(ns) ? ns / 1e6 : Infinity;
  }
  const eviction = flags.eviction ?? "ollama";
  if (eviction !== "ollama" && eviction !== "lru")
    throw new Error(`--eviction must be "ollama" or "lru", got "${eviction}"`);
  return {
    host: flags.host ?? listen.host,
    port: flags.port ?? listen.port,
    id: flags.id,
    gpu,
    models: parseModelList(flags.models ?? DEFAULT_MODELS),
    numParallel: flags.parallel ?? envInt(env, "OLLAMA_NUM_PARALLEL", true) ?? 1,
    maxLoadedModels: flags.maxLoaded ?? envInt(env, "OLLAMA_MAX_LOADED_MODELS") ?? 0,
    maxQueue: flags.maxQueue ?? envInt(env, "OLLAMA_MAX_QUEUE", true) ?? 512,
    keepAliveMs,
    contextLength: flags.numCtx ?? envInt(env, "OLLAMA_CONTEXT_LENGTH", true),
    timeScale: flags.timeScale ?? 1,
    seed: flags.seed ?? 0,
    outputTokens: flags.outputTokens ? parseOutputTokens(flags.outputTokens) : undefined,
    downloadBytesPerSec: flags.downloadMbps !== undefined ? flags.downloadMbps * 1e6 : undefined,
    evictionPolicy: eviction as EvictionPolicy,
    version: flags.ollamaVersion,
  };
}
