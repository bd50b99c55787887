/**
 * Which answers paid for a model load. Ollama reports load_duration on every answer (a few ms when the
 * model is already in memory, and also the wait for a load another request started), so a load is counted
 * for the attempt the router sent to an instance without the model loaded (the one that starts the load;
 * later ones see it loading), or when the reported load took at least SLOW_LOAD_MS (the model was evicted
 * behind the gateway's back).
 */

/** A reported load_duration this long is a load whatever the inventory said. */
export const SLOW_LOAD_MS = 1000;

/** Pairs attempt starts with their ends to decide which ones loaded the model. */
export class ModelLoadDetector {
  /** instance|model → the attempt that started the load. */
  private readonly pending = new Map<string, string>();

  /** An attempt starts on an instance; `startedLoad` as the router's placement said. */
  started(attemptKey: string, instanceId: string, model: string, startedLoad: boolean): void {
    const key = `${instanceId}|${model}`;
    if (startedLoad && !this.pending.has(key)) this.pending.set(key, attemptKey);
  }

  /** The attempt ended; true when it counts as one model load. */
  ended(
    attemptKey: string,
    instanceId: string,
    model: string,
    ok: boolean,
    loadMs: number | undefined,
  ): boolean {
    const key = `${instanceId}|${model}`;
    const owner = this.pending.get(key) === attemptKey;
    if (owner) this.pending.delete(key);
    if (!ok) return false;
    return owner || (loadMs !== undefined && loadMs >= SLOW_LOAD_MS);
  }
}
