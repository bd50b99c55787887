/**
 * Which answers paid for a model load. Ollama reports load_duration on every answer (a few ms when the
 * model is already in memory, and also the wait for a load another request started), so a load is counted
 * for the first attempt that found the model not resident on its instance, or when the reported load took
 * at least SLOW_LOAD_MS (the model was evicted behind the gateway's back).
 */

/** A reported load_duration this long is a load whatever the inventory said. */
export const SLOW_LOAD_MS = 1000;

/** Pairs attempt starts with their ends to decide which ones loaded the model. */
export class ModelLoadDetector {
  /** instance|model → the attempt that started while the model was not resident. */
  private readonly pending = new Map<string, string>();

  constructor(private readonly isResident: (instanceId: string, model: string) => boolean) {}

  /** An attempt starts on an instance (call synchronously, before the answer can change the inventory). */
  started(attemptKey: string, instanceId: string, model: string): void {
    const key = `${instanceId}|${model}`;
    if (!this.pending.has(key) && !this.isResident(instanceId, model)) this.pending.set(key, attemptKey);
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
