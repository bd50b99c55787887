/** Time and timers as a dependency, so queue timeouts can be tested on a manual clock without sleeps. */

/** A source of time (ms) and one-shot timers; the handle is whatever `setTimeout` returned. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock: `Date.now` and Node's timers. A factory, so no module-level state is shared. */
export function systemClock(): Clock {
  return {
    now: () => Date.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  };
}
