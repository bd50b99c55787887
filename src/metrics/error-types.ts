/** The bounded set of error types `ollama_fleet_errors_total` counts, and how failures map onto it. */
import type { UpstreamFailureKind } from "../http/gateway-events.js";

/** Error types of `ollama_fleet_errors_total{type}`. */
export const ERROR_TYPES = [
  "oom",
  "timeout",
  "connect",
  "reset",
  "upstream_5xx",
  "busy",
  "stream_reset",
  "malformed",
  "model_missing",
  "breaker_open",
  "queue_full",
  "queue_timeout",
  "no_instance",
  "other",
] as const;

/** One of ERROR_TYPES. */
export type ErrorType = (typeof ERROR_TYPES)[number];

// Ollama's and llama.cpp's wordings: "model requires more system memory (…) than is available",
// "CUDA error: out of memory", "cudaMalloc failed: out of memory", "unable to allocate CUDA0 buffer".
const OOM =
  /out of memory|requires more system memory|\boom\b|cudamalloc failed|unable to allocate .*buffer|insufficient memory/i;

/** Whether an upstream error message says the instance ran out of (GPU or system) memory. */
export function isOutOfMemory(message: string | undefined): boolean {
  return message !== undefined && OOM.test(message);
}

/** The error type of a failed upstream attempt; an out-of-memory message wins over its transport kind. */
export function errorTypeOf(kind: UpstreamFailureKind, message: string | undefined): ErrorType {
  if (isOutOfMemory(message)) return "oom";
  switch (kind) {
    case "timeout":
    case "connect":
    case "reset":
    case "busy":
    case "stream_reset":
    case "malformed":
    case "model_missing":
      return kind;
    case "http_5xx":
      return "upstream_5xx";
    default:
      return "other";
  }
}
