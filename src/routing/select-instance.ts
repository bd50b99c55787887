/**
 * The gateway-core selection rule: among instances that can take the model, prefer one where it is
 * already loaded (no load time), then the one with the fewest requests in flight; ties are broken at
 * random so equal instances share the traffic.
 */

/** What the selector needs to know about one candidate. */
export interface RouteCandidate {
  id: string;
  inFlight: number;
  loaded: boolean;
}

/** A source of uniform random numbers in [0, 1); injected so decisions are reproducible in tests. */
export type RandomSource = () => number;

/** Picks a candidate id, or undefined when there is none. Pure: same inputs and random draw, same pick. */
export function pickInstance(
  candidates: readonly RouteCandidate[],
  random: RandomSource,
): string | undefined {
  let best: RouteCandidate[] = [];
  for (const c of candidates) {
    const head = best[0];
    if (head === undefined) {
      best = [c];
      continue;
    }
    const cmp = compare(c, head);
    if (cmp < 0) best = [c];
    else if (cmp === 0) best.push(c);
  }
  if (best.length === 0) return undefined;
  const index = Math.min(best.length - 1, Math.floor(random() * best.length));
  return best[index]?.id;
}

function compare(a: RouteCandidate, b: RouteCandidate): number {
  if (a.loaded !== b.loaded) return a.loaded ? -1 : 1;
  return a.inFlight - b.inFlight;
}
