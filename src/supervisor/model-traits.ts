/**
 * What the planner knows about a model before any instance runs: its size on disk (from the
 * instances' /api/tags, the user's `name@size`, or a small table of common library tags), the memory
 * it needs once loaded, the precision its tag implies, and the vocabulary family it shares.
 */
import type { ModelPrecision } from "../config/provisioning-schema.js";
import { normalizeModelName } from "../util/model-name.js";

const GB = 1e9;
const MIB = 1024 ** 2;

/**
 * Sizes on disk of common Ollama library tags, in GB as ollama.com lists them (approximate; a
 * running instance's /api/tags or `name@size` in PlannedModels take precedence). Names joined by
 * "|" are aliases of one tag.
 */
const KNOWN_SIZES_GB: readonly (readonly [string, number])[] = [
  ["llama3.2:1b", 1.32],
  ["llama3.2:3b|llama3.2:latest", 2.02],
  ["llama3.1:8b|llama3.1:latest", 4.92],
  ["llama3.1:70b", 42.5],
  ["llama3:8b|llama3:latest", 4.66],
  ["llama3.3:70b|llama3.3:latest", 42.5],
  ["mistral:7b|mistral:latest", 4.11],
  ["mistral:7b-instruct-q4_K_M", 4.37],
  ["mixtral:8x7b|mixtral:latest", 26.4],
  ["deepseek-coder:6.7b|deepseek-coder:latest", 3.83],
  ["deepseek-r1:7b", 4.68],
  ["deepseek-r1:8b|deepseek-r1:latest", 5.2],
  ["deepseek-r1:14b", 8.99],
  ["deepseek-r1:32b", 19.9],
  ["deepseek-r1:70b", 42.5],
  ["codegemma:7b|codegemma:latest", 5.01],
  ["gemma2:2b", 1.63],
  ["gemma2:9b|gemma2:latest", 5.44],
  ["gemma2:27b", 15.6],
  ["gemma3:1b", 0.815],
  ["gemma3:4b|gemma3:latest", 3.3],
  ["gemma3:12b", 8.1],
  ["gemma3:27b", 17],
  ["qwen2.5:0.5b", 0.398],
  ["qwen2.5:1.5b", 0.986],
  ["qwen2.5:3b", 1.93],
  ["qwen2.5:7b|qwen2.5:latest", 4.68],
  ["qwen2.5:14b", 8.99],
  ["qwen2.5:32b", 19.9],
  ["qwen2.5:72b", 47.4],
  ["qwen2.5-coder:7b|qwen2.5-coder:latest", 4.68],
  ["qwen3:4b", 2.5],
  ["qwen3:8b|qwen3:latest", 5.2],
  ["qwen3:14b", 9.3],
  ["qwen3:32b", 20],
  ["phi3:mini|phi3:latest", 2.18],
  ["phi4:14b|phi4:latest", 9.1],
  ["gpt-oss:20b|gpt-oss:latest", 14],
  ["gpt-oss:120b", 65],
  ["tinyllama:1.1b|tinyllama:latest", 0.638],
  ["smollm2:135m", 0.271],
  ["nomic-embed-text:latest|nomic-embed-text:v1.5", 0.274],
  ["all-minilm:latest|all-minilm:22m", 0.046],
  ["mxbai-embed-large:latest|mxbai-embed-large:335m", 0.67],
];

/** The table as a map from every alias to bytes. */
const KNOWN_SIZES = new Map<string, number>(
  KNOWN_SIZES_GB.flatMap(([names, gb]) => names.split("|").map((n) => [n, Math.round(gb * GB)] as const)),
);

/** Size on disk of a common library tag from the shipped table, or undefined. */
export function knownModelBytes(name: string): number | undefined {
  return KNOWN_SIZES.get(normalizeModelName(name));
}

/**
 * Memory a loaded model needs: its weights, a compute buffer, and one KV cache per parallel slot at
 * Ollama's default 4096-token context. Per slot: 384 MiB plus 2.5% of the weights, which matches
 * llama-architecture models with grouped-query attention (3B ≈ 0.43 GiB, 8B ≈ 0.5, 70B ≈ 1.4 per slot).
 */
export function residentBytes(fileBytes: number, numParallel: number): number {
  const perSlot = 384 * MIB + 0.025 * fileBytes;
  return Math.round(fileBytes + 256 * MIB + Math.max(1, numParallel) * perSlot);
}

/** The precision a tag implies ("…-fp16", "…-bf16", "…-fp8"); quantised tags need none. */
export function tagPrecision(name: string): ModelPrecision | undefined {
  const tag = normalizeModelName(name).split(":")[1] ?? "";
  const found = /(?:^|[-_])(fp16|f16|bf16|fp8)(?:$|[-_])/.exec(tag)?.[1];
  if (found === undefined) return undefined;
  return found === "f16" ? "fp16" : (found as ModelPrecision);
}

/**
 * Vocabulary family by name: the base before any "-variant", without its minor version, so
 * llama3.1/llama3.2/llama3.3 share "llama3" and qwen2.5/qwen2.5-coder share "qwen2". A heuristic:
 * Ollama's own `details.family` says "llama" for Mistral and DeepSeek too, whose vocabularies differ.
 */
export function modelFamily(name: string): string {
  const base = normalizeModelName(name).split(":")[0] ?? "";
  const repo = base.split("/").pop() ?? base;
  return (repo.split("-")[0] ?? repo).replace(/(\d+)\.\d+$/, "$1");
}

/** "23.0 GiB": memory of devices and instances, in the unit drivers and thresholds use. */
export function formatGib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/** "4.9 GB" with one decimal: model files, in the decimal unit `ollama list` prints. */
export function formatGb(bytes: number): string {
  return `${(bytes / GB).toFixed(1)} GB`;
}
