/**
 * Which inference requests may share one upstream call, and under which key: only requests whose
 * answer is a function of the request alone (embeddings, or generations with `temperature` 0 or a
 * fixed seed), keyed by endpoint and the canonical form of the whole body.
 */
import type { InferenceEndpoint, ParsedInference } from "./request-body.js";

type Json = Record<string, unknown>;

/** True when the options ask for a reproducible answer: temperature 0 or a fixed (non-negative) seed. */
export function isDeterministic(settings: Json | undefined): boolean {
  if (!settings) return false;
  if (settings.temperature === 0) return true;
  const seed = settings.seed;
  // Ollama's default seed is -1, which means "random".
  return typeof seed === "number" && Number.isInteger(seed) && seed >= 0;
}

/** Whether a request of this endpoint always gets the same answer for the same body. */
export function isCoalescable(endpoint: InferenceEndpoint, json: Json): boolean {
  switch (endpoint) {
    case "embed":
    case "embeddings":
    case "openai_embeddings":
      return true;
    case "generate":
    case "chat":
      return isDeterministic(asObject(json.options));
    case "openai_chat":
    case "openai_completions":
      return isDeterministic(json);
  }
}

/**
 * The key under which identical in-flight requests share one upstream call, or undefined when the
 * request must not be shared. The endpoint is part of the key (each dialect has its own framing), and
 * so is the effective `stream` flag: a streamed and a whole answer are different bytes.
 */
export function coalesceKeyOf(endpoint: InferenceEndpoint, parsed: ParsedInference): string | undefined {
  if (!isCoalescable(endpoint, parsed.json)) return undefined;
  const body: Json = { ...parsed.json, stream: parsed.stream };
  if (endpoint.startsWith("openai_") && !parsed.stream) delete body.stream_options;
  return `${endpoint} ${canonicalJson(body)}`;
}

/** JSON with object keys sorted at every depth, so key order never splits identical requests. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  const out: Json = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Json)[key]);
  return out;
}

function asObject(v: unknown): Json | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined;
}
