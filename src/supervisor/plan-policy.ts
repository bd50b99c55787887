/** The seed's sizing rules shared by the automatic plan and the YAML reflection of it. */

const GIB = 1024 ** 3;

/** What running instances report about a model (from /api/tags), by normalised name. */
export type ModelCatalog = ReadonlyMap<string, { sizeBytes: number }>;

/** OLLAMA_NUM_PARALLEL when NumParallel is 0: more slots where memory affords their KV caches. */
export function autoNumParallel(memoryLimitBytes: number, onCpu: boolean): number {
  if (onCpu || memoryLimitBytes < 8 * GIB) return 1;
  return memoryLimitBytes < 16 * GIB ? 2 : 4;
}

/** Instances for a GPU of this size under the thresholds: 1 plus one per threshold reached. */
export function instancesForMemory(memoryTotalBytes: number, thresholdsGib: readonly number[]): number {
  return 1 + thresholdsGib.filter((t) => memoryTotalBytes / GIB >= t).length;
}
