/** The emulator's built-in model catalog: what /api/pull can fetch and bare --models names mean. */
/** One catalog row: names ("a|b", first canonical), GB on disk, parameters, family, quantization,
 * trained context, embedding width, embedding-only. */
export type CatalogRow = [string, number, number, string, string, number, number, boolean?];

const B = 1e9;
const M = 1e6;

/** Well-known library tags with sizes as the Ollama library lists them (approximately). */
export const CATALOG_ROWS: CatalogRow[] = [
  ["llama3.2:1b", 1.32, 1.24 * B, "llama", "Q8_0", 131072, 2048],
  ["llama3.2:3b|llama3.2:latest", 2.02, 3.21 * B, "llama", "Q4_K_M", 131072, 3072],
  ["llama3.1:8b|llama3.1:latest", 4.92, 8.03 * B, "llama", "Q4_K_M", 131072, 4096],
  ["llama3.1:70b", 42.5, 70.6 * B, "llama", "Q4_K_M", 131072, 8192],
  ["llama3:8b|llama3:latest", 4.66, 8.03 * B, "llama", "Q4_0", 8192, 4096],
  ["llama3.3:70b|llama3.3:latest", 42.5, 70.6 * B, "llama", "Q4_K_M", 131072, 8192],
  ["mistral:7b|mistral:latest", 4.11, 7.25 * B, "llama", "Q4_0", 32768, 4096],
  ["mistral:7b-instruct-q4_K_M", 4.37, 7.25 * B, "llama", "Q4_K_M", 32768, 4096],
  ["mixtral:8x7b|mixtral:latest", 26.4, 46.7 * B, "llama", "Q4_0", 32768, 4096],
  ["deepseek-coder:6.7b|deepseek-coder:latest", 3.83, 6.74 * B, "llama", "Q4_0", 16384, 4096],
  ["codegemma:7b|codegemma:latest", 5.01, 8.54 * B, "gemma", "Q4_0", 8192, 3072],
  ["gemma2:2b", 1.63, 2.61 * B, "gemma2", "Q4_0", 8192, 2304],
  ["gemma2:9b|gemma2:latest", 5.44, 9.24 * B, "gemma2", "Q4_0", 8192, 3584],
  ["qwen2.5:0.5b", 0.398, 494.03 * M, "qwen2", "Q4_K_M", 32768, 896],
  ["qwen2.5:1.5b", 0.986, 1.54 * B, "qwen2", "Q4_K_M", 32768, 1536],
  ["qwen2.5:3b", 1.93, 3.09 * B, "qwen2", "Q4_K_M", 32768, 2048],
  ["qwen2.5:7b|qwen2.5:latest", 4.68, 7.62 * B, "qwen2", "Q4_K_M", 32768, 3584],
  ["qwen2.5:14b", 8.99, 14.8 * B, "qwen2", "Q4_K_M", 32768, 5120],
  ["qwen2.5:32b", 19.9, 32.8 * B, "qwen2", "Q4_K_M", 32768, 5120],
  ["qwen2.5-coder:7b|qwen2.5-coder:latest", 4.68, 7.62 * B, "qwen2", "Q4_K_M", 32768, 3584],
  ["phi3:mini|phi3:latest", 2.18, 3.82 * B, "phi3", "Q4_0", 131072, 3072],
  ["tinyllama:1.1b|tinyllama:latest", 0.638, 1.1 * B, "llama", "Q4_0", 2048, 2048],
  ["smollm2:135m", 0.271, 134.52 * M, "llama", "F16", 8192, 576],
  ["nomic-embed-text:latest|nomic-embed-text:v1.5", 0.274, 136.73 * M, "nomic-bert", "F16", 2048, 768, true],
  ["all-minilm:latest|all-minilm:22m", 0.046, 22.57 * M, "bert", "F16", 512, 384, true],
  ["mxbai-embed-large:latest|mxbai-embed-large:335m", 0.67, 334.09 * M, "bert", "F16", 512, 1024, true],
];
