/** Test helper: steady generation traffic on a gateway, for the dashboard test and screenshots. */

/** What a load run sends. */
export interface LoadOptions {
  models: readonly string[];
  /** Requests in flight at once. */
  concurrency: number;
  /** Stop after this many requests in all (default: until the signal aborts). */
  requests?: number;
  /** Tokens each answer asks for (default 32). */
  numPredict?: number;
  /** Per-request limit, so a stuck request fails the run instead of hanging it (30 s). */
  requestTimeoutMs?: number;
  signal?: AbortSignal;
}

/** Counts of a finished load run by HTTP status. */
export type LoadResult = Record<number, number>;

/** Sends streaming /api/generate requests round-robin over the models until done; never throws on a 5xx. */
export async function driveLoad(url: string, options: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = {};
  let sent = 0;
  const limit = options.requests ?? Number.POSITIVE_INFINITY;
  const worker = async (w: number): Promise<void> => {
    while (sent < limit && !options.signal?.aborted) {
      const n = sent++;
      const model = options.models[(n + w) % options.models.length]!;
      try {
        const res = await fetch(`${url}/api/generate`, {
          method: "POST",
          headers: { "x-priority": n % 5 === 0 ? "high" : "normal" },
          body: JSON.stringify({
            model,
            prompt: `request ${n}: tell me about GPU number ${n % 7}`,
            stream: true,
            options: { num_predict: options.numPredict ?? 32 },
          }),
          signal: AbortSignal.any([
            AbortSignal.timeout(options.requestTimeoutMs ?? 30_000),
            ...(options.signal ? [options.signal] : []),
          ]),
        });
        await res.arrayBuffer();
        result[res.status] = (result[res.status] ?? 0) + 1;
      } catch {
        if (options.signal?.aborted) return;
        result[0] = (result[0] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, w) => worker(w)));
  return result;
}
