/** Helpers on the scheduler's loaded models: creating one, describing one, choosing one to unload. */
import { digestOf } from "./catalog.js";
import type { Runner, RunnerInfo } from "./scheduler-types.js";
import type { SlotPool } from "./slot-pool.js";
import type { EvictionPolicy, ModelSpec } from "./types.js";

/** A runner that starts loading now, with the default keep-alive until a request sets one. */
export function createRunner(
  model: ModelSpec,
  numCtx: number,
  memoryBytes: number,
  pool: SlotPool,
  at: { sessionMs: number; now: number },
): Runner {
  return {
    model,
    key: model.name.toLowerCase(),
    numCtx,
    memoryBytes,
    pool,
    state: "loading",
    refCount: 0,
    sessionMs: at.sessionMs,
    expiresAt: null,
    expiry: null,
    loadTimer: null,
    lastUsedAt: at.now,
    evicting: false,
    awaitingLoad: [],
  };
}

/** What /api/ps and the stats show of a runner. */
export function runnerInfo(r: Runner): RunnerInfo {
  return {
    model: r.model,
    state: r.state,
    numCtx: r.numCtx,
    memoryBytes: r.memoryBytes,
    refCount: r.refCount,
    sessionMs: r.sessionMs,
    expiresAt: r.expiresAt,
    active: r.pool.active,
    waiting: r.pool.waiting.length,
  };
}

/**
 * Ollama's findRunnerToUnload: sort by keep-alive, then model path (our digest), and take the first
 * idle runner, else the first. The "lru" policy sorts by last use instead.
 */
export function pickVictim(runners: Runner[], policy: EvictionPolicy): Runner | undefined {
  const list = [...runners];
  if (policy === "lru") list.sort((a, b) => a.lastUsedAt - b.lastUsedAt);
  else {
    list.sort((a, b) => {
      if (a.sessionMs !== b.sessionMs) return a.sessionMs - b.sessionMs;
      return digestOf(a.model.name) < digestOf(b.model.name) ? -1 : 1;
    });
  }
  return list.find((r) => r.refCount === 0) ?? list[0];
}
