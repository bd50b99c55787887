/** Model sizes from running Ollama instances (/api/tags), so the plan uses real sizes when it can. */
import { request } from "undici";
import type { OllamaTagModel } from "../backend/ollama-types.js";
import { normalizeModelName } from "../util/model-name.js";
import type { ModelCatalog } from "./plan-policy.js";

/**
 * Asks each URL's /api/tags (in parallel, each within timeoutMs) and merges the sizes by model name;
 * URLs that do not answer are skipped, since nothing running yet is the usual case before a first start.
 */
export async function probeModelCatalog(
  urls: readonly string[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ModelCatalog> {
  const catalog = new Map<string, { sizeBytes: number }>();
  const answers = await Promise.all(
    urls.map(async (url) => {
      const signals = [AbortSignal.timeout(timeoutMs), ...(signal === undefined ? [] : [signal])];
      try {
        const res = await request(`${url}/api/tags`, { signal: AbortSignal.any(signals) });
        if (res.statusCode !== 200) {
          await res.body.dump();
          return [];
        }
        const body = (await res.body.json()) as { models?: OllamaTagModel[] };
        return body.models ?? [];
      } catch {
        return [];
      }
    }),
  );
  for (const tag of answers.flat()) {
    const name = normalizeModelName(tag.name || tag.model);
    if (typeof tag.size === "number" && tag.size > 0) catalog.set(name, { sizeBytes: tag.size });
  }
  return catalog;
}
