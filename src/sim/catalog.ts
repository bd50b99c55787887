/**
 * Models the emulator knows: a built-in catalog of well-known library tags (sizes as the Ollama
 * library lists them, approximately), Ollama-style name handling, and the --models list parser.
 */
import { createHash } from "node:crypto";
import { CATALOG_ROWS } from "./catalog-data.js";
import type { ModelSpec } from "./types.js";

interface CatalogEntry {
  names: string[];
  gb: number;
  params: number;
  family: string;
  quant: string;
  ctx: number;
  emb: number;
  embeddingOnly?: boolean;
}

const CATALOG: CatalogEntry[] = CATALOG_ROWS.map(
  ([names, gb, params, family, quant, ctx, emb, embeddingOnly]) => ({
    names: names.split("|"),
    gb,
    params,
    family,
    quant,
    ctx,
    emb,
    embeddingOnly,
  }),
);

const NAME_RE =
  /^(?:([A-Za-z0-9][A-Za-z0-9._-]*(?::\d+)?)\/)?(?:([A-Za-z0-9_][A-Za-z0-9_.-]{0,79})\/)?([A-Za-z0-9_][A-Za-z0-9_.-]{0,79})(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,79}))?$/;

/**
 * Ollama's shortest display form of a model name ("llama3.2" → "llama3.2:latest",
 * "registry.ollama.ai/library/x:1" → "x:1"), or null when Ollama would call it invalid.
 */
export function normalizeModelName(raw: string): string | null {
  const m = NAME_RE.exec(raw.trim());
  if (!m) return null;
  let [, host, namespace] = m;
  const model = m[3]!;
  const tag = m[4] ?? "latest";
  // With one slash the first part is a namespace, not a host (unless it has a dot or port).
  if (host !== undefined && namespace === undefined && !/[.:]/.test(host))
    [host, namespace] = [undefined, host];
  if (host !== undefined && host.toLowerCase() === "registry.ollama.ai") host = undefined;
  if (host === undefined && namespace?.toLowerCase() === "library") namespace = undefined;
  return [host, namespace, `${model}:${tag}`].filter((p) => p !== undefined).join("/");
}

/** The namespace part OpenAI's /v1/models shows as owned_by ("library" for plain names). */
export function namespaceOf(name: string): string {
  const parts = name.split("/");
  return parts.length >= 2 ? parts[parts.length - 2]! : "library";
}

/** Deterministic sha256 hex of a model name: the same model has the same digest on every emulator. */
export function digestOf(name: string): string {
  return createHash("sha256").update(name).digest("hex");
}

/** Go's format.HumanNumber, which Ollama uses for parameter_size ("8.0B" → "8B", "494.03M"). */
export function formatParameterSize(count: number): string {
  const fmt = (n: number, unit: string, decimals: number): string =>
    n === Math.floor(n) ? `${n}${unit}` : `${n.toFixed(decimals)}${unit}`;
  if (count >= 1e9) return fmt(count / 1e9, "B", 1);
  if (count >= 1e6) return fmt(count / 1e6, "M", 2);
  if (count >= 1e3) return fmt(count / 1e3, "K", 0);
  return String(Math.round(count));
}

/** The catalog entry for a (normalized) name or one of its aliases. */
function findEntry(name: string): CatalogEntry | undefined {
  const lower = name.toLowerCase();
  return CATALOG.find((e) => e.names.some((n) => n.toLowerCase() === lower));
}

/** Whether /api/pull knows this name. */
export function isInCatalog(name: string): boolean {
  const n = normalizeModelName(name);
  return n !== null && findEntry(n) !== undefined;
}

/** Bytes of KV cache per token, scaled from the parameter count (about 128 KiB for an 8B model). */
function kvBytesPerToken(parameterCount: number): number {
  return Math.round(Math.min(320 * 1024, Math.max(4 * 1024, (16 * 1024 * parameterCount) / 1e9)));
}

function familyFromName(name: string): string {
  const base = name.split(":")[0]!.toLowerCase();
  for (const f of ["gemma2", "gemma", "qwen2", "phi3", "llama", "mistral", "deepseek"]) {
    if (base.includes(f)) return f === "mistral" || f === "deepseek" ? "llama" : f;
  }
  if (base.includes("qwen")) return "qwen2";
  return "llama";
}

/**
 * A model spec for `name`: the catalog's data when it knows the name (sizes overridable), else
 * values inferred from the name and the given size and parameter count.
 */
export function modelSpecFor(name: string, sizeGb?: number, paramsBillions?: number): ModelSpec {
  const canonical = normalizeModelName(name);
  if (canonical === null) throw new Error(`invalid model name "${name}"`);
  const entry = findEntry(canonical);
  if (!entry && sizeGb === undefined) {
    throw new Error(`unknown model "${name}": give its size as name:sizeGB[:paramsB]`);
  }
  const sizeBytes = Math.round((sizeGb ?? entry!.gb) * 1e9);
  const parameterCount =
    paramsBillions !== undefined ? paramsBillions * 1e9 : (entry?.params ?? Math.round(sizeBytes / 0.6)); // Q4 weights: about 0.6 bytes per parameter
  const embeddingOnly = entry?.embeddingOnly ?? /embed|minilm|bge-/i.test(canonical);
  return {
    name: canonical,
    sizeBytes,
    parameterCount,
    family: entry?.family ?? (embeddingOnly ? "bert" : familyFromName(canonical)),
    quantization: entry?.quant ?? (embeddingOnly ? "F16" : "Q4_K_M"),
    contextLength: entry?.ctx ?? (embeddingOnly ? 512 : 8192),
    embeddingLength: entry?.emb ?? (embeddingOnly ? 768 : 4096),
    embeddingOnly,
    kvBytesPerToken: kvBytesPerToken(parameterCount),
  };
}

/** The catalog's spec for a pullable name, under the name as the caller wrote it (normalized). */
export function catalogSpec(name: string): ModelSpec | undefined {
  const canonical = normalizeModelName(name);
  if (canonical === null || !findEntry(canonical)) return undefined;
  return modelSpecFor(canonical);
}

/**
 * Parses --models: comma-separated `name[:tag][:sizeGB[:paramsB]]`. Trailing numbers are sizes,
 * so "llama3.2:1b:1.3:1.24" is llama3.2:1b of 1.3 GB with 1.24B parameters; a bare catalog name
 * takes the catalog's numbers.
 */
export function parseModelList(spec: string): ModelSpec[] {
  const specs: ModelSpec[] = [];
  for (const item of spec.split(",").map((s) => s.trim())) {
    if (!item) continue;
    const parts = item.split(":");
    const numbers: number[] = [];
    while (parts.length > 1 && numbers.length < 2 && /^\d+(\.\d+)?$/.test(parts[parts.length - 1]!)) {
      const candidate = parts.slice(0, -1).join(":");
      // "qwen:7" alone is a tag, not a size: keep one part for the name.
      if (!candidate) break;
      numbers.unshift(Number(parts.pop()));
    }
    const name = parts.join(":");
    const [sizeGb, paramsB] = numbers;
    specs.push(modelSpecFor(name, sizeGb, paramsB));
  }
  return specs;
}

/** Default models on disk when --models is not given. */
export const DEFAULT_MODELS = "llama3.2:1b,llama3.1:8b,qwen2.5:0.5b,nomic-embed-text";
