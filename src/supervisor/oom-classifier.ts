/**
 * Recognises out-of-memory failures in Ollama's error messages and log lines. The wording comes from
 * Ollama's scheduler ("model requires more system memory (X) than is available (Y)"), its runners
 * (llama.cpp / ggml: "cudaMalloc failed: out of memory", "unable to allocate CUDA0 buffer", "failed to
 * allocate buffer for kv cache") and the CUDA/ROCm runtimes. Pure.
 */

/** What ran out: system RAM, device memory, or an allocation whose pool the message does not name. */
export type OomKind = "system_memory" | "gpu_memory" | "allocation";

/** Where the error was seen. */
export type OomSource = "response" | "log" | "preload";

/** One recognised out-of-memory failure. */
export interface OomMatch {
  kind: OomKind;
  /** The pattern that matched, for logs ("cudaMalloc failed: out of memory"). */
  matched: string;
}

/** Patterns in the order they are tried: the most specific first. */
const PATTERNS: readonly { kind: OomKind; re: RegExp }[] = [
  { kind: "system_memory", re: /model requires more system memory/i },
  { kind: "system_memory", re: /model request too large for system/i },
  { kind: "system_memory", re: /(cannot|can't|could not) allocate memory/i },
  { kind: "gpu_memory", re: /(cuda|hip|rocm|cudamalloc|hipmalloc|metal|vulkan)[^\n]{0,40}out of memory/i },
  { kind: "gpu_memory", re: /CUDA_ERROR_OUT_OF_MEMORY|cudaErrorMemoryAllocation|hipErrorOutOfMemory/i },
  { kind: "gpu_memory", re: /CUBLAS_STATUS_ALLOC_FAILED/i },
  { kind: "gpu_memory", re: /unable to allocate (CUDA|ROCm|HIP|Metal|Vulkan)\d* buffer/i },
  { kind: "gpu_memory", re: /failed to allocate (CUDA|ROCm|HIP|Metal|Vulkan)\d* buffer/i },
  { kind: "allocation", re: /unable to allocate/i },
  { kind: "allocation", re: /failed to allocate buffer/i },
  { kind: "allocation", re: /memory layout cannot be allocated/i },
  { kind: "allocation", re: /(insufficient|not enough) (gpu |system |device )?memory/i },
  { kind: "allocation", re: /\bout of memory\b/i },
];

/** The out-of-memory kind of an error message or log line, or undefined when it is something else. */
export function classifyOom(text: string): OomMatch | undefined {
  if (text.length === 0) return undefined;
  for (const { kind, re } of PATTERNS) {
    const m = re.exec(text);
    if (m) return { kind, matched: m[0] };
  }
  return undefined;
}
