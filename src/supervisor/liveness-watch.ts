/**
 * Readiness and liveness of an instance through GET /api/version: after a spawn, poll until it answers;
 * once up, check every interval within a timeout, and call it wedged after consecutive failures (a hung
 * Go server still accepts connections, so only a timed-out answer tells).
 */
import type { Logger } from "pino";
import type { Clock } from "../queue/clock.js";
import type { OllamaAdmin } from "./ollama-admin.js";

/** What the watch needs. */
export interface LivenessOptions {
  admin: OllamaAdmin;
  clock: Clock;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failures that make the instance wedged. */
  threshold: number;
  logger: Logger;
  /** Ends the watch (the process ended or is being stopped). */
  signal: AbortSignal;
  /** Called once with the reason when the threshold is reached; the watch then stops. */
  onWedged: (reason: string) => void;
}

/** Starts the periodic check. */
export function watchLiveness(o: LivenessOptions): void {
  let failures = 0;
  let timer: unknown;
  o.signal.addEventListener("abort", () => o.clock.clearTimeout(timer), { once: true });
  const schedule = (): void => {
    if (!o.signal.aborted) timer = o.clock.setTimeout(() => void check(), o.intervalMs);
  };
  const check = async (): Promise<void> => {
    if (o.signal.aborted) return;
    try {
      await o.admin.version(AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)]));
      failures = 0;
    } catch (err) {
      if (o.signal.aborted) return;
      failures++;
      const e = err as Error;
      const why = e.name === "TimeoutError" ? `timed out after ${o.timeoutMs} ms` : e.message;
      o.logger.warn({ failures, err: why }, "liveness check failed");
      if (failures >= o.threshold)
        return o.onWedged(`wedged: ${failures} liveness checks failed (last: ${why})`);
    }
    schedule();
  };
  schedule();
}

/** What the readiness wait needs. */
export interface ReadinessOptions {
  admin: OllamaAdmin;
  clock: Clock;
  pollMs: number;
  /** Timeout of one poll, ms. */
  timeoutMs: number;
  /** Longest wait in all, ms. */
  startTimeoutMs: number;
  signal: AbortSignal;
}

/** Polls until the instance answers; resolves undefined then (or when aborted), else the reason it gave up. */
export async function waitUntilAnswering(o: ReadinessOptions): Promise<string | undefined> {
  const deadline = o.clock.now() + o.startTimeoutMs;
  let lastError = "no answer yet";
  for (;;) {
    if (o.signal.aborted) return undefined;
    try {
      await o.admin.version(AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)]));
      return undefined;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (o.clock.now() >= deadline) return `not ready within ${o.startTimeoutMs} ms (last: ${lastError})`;
    await sleep(o.clock, o.pollMs, o.signal);
  }
}

function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      resolve();
    };
    const handle = clock.setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
