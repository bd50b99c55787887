/**
 * Which loaded models an instance would unload to make room for another: Ollama's choice, mirrored so
 * the gateway can tell what a cold load costs before it starts one. Ollama (server/sched.go
 * findRunnerToUnload) sorts its runners by keep-alive duration and then by model path (the blob's
 * digest), takes the first idle one, and when none is idle waits for the first one; it repeats until
 * the new model fits. With one keep-alive for every model the order is the digest order.
 */

/** What the eviction model knows of one loaded model. */
export interface LoadedModel {
  name: string;
  /** Memory it takes (its /api/ps size_vram), bytes. */
  bytes: number;
  /** Its digest: Ollama's tie-break between equal keep-alives. */
  digest: string;
  /** Requests the gateway has in flight for it on this instance: a busy model is unloaded last. */
  inFlight: number;
}

/**
 * The models unloaded, in order, before `needBytes` fits under `limitBytes`; [] when it fits already.
 * Every model goes when even that is not enough (the caller checks `canHold` separately).
 */
export function victimsFor(loaded: readonly LoadedModel[], needBytes: number, limitBytes: number): string[] {
  const ordered = [...loaded].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  let used = loaded.reduce((sum, m) => sum + Math.max(0, m.bytes), 0);
  const victims: string[] = [];
  while (needBytes > limitBytes - used && ordered.length > 0) {
    const idle = ordered.findIndex((m) => m.inFlight === 0);
    const [victim] = ordered.splice(idle >= 0 ? idle : 0, 1);
    if (!victim) break;
    victims.push(victim.name);
    used -= Math.max(0, victim.bytes);
  }
  return victims;
}
