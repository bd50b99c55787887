/**
 * Canary splits (the seed's operational practice): traffic for a model name is split between versions by
 * weight. A request with a session key always lands on the same version (a stable hash of the key picks a
 * point in [0, 1)); one without is split at random. Pure apart from the injected random source.
 */
import type { CanarySplit } from "../config/traffic-schema.js";

/** Which version a request for a split name goes to. */
export interface CanaryChoice {
  /** The split's name (what the client asked for). */
  split: string;
  /** The model that serves it. */
  model: string;
}

/** A stable point in [0, 1) for a session key and split (FNV-1a), so the same session keeps its version. */
export function sessionPoint(key: string, split: string): number {
  let h = 0x811c9dc5;
  const text = `${split}\u0000${key}`;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  // One more mixing round so keys that differ in their last character spread over the range.
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) / 2 ** 32;
}

/** The version a point in [0, 1) falls on, by cumulative weight. */
export function versionAt(split: CanarySplit, point: number): string {
  const total = split.versions.reduce((sum, v) => sum + v.weight, 0);
  let edge = 0;
  for (const v of split.versions) {
    edge += v.weight / total;
    if (point < edge && v.weight > 0) return v.model;
  }
  return [...split.versions].reverse().find((v) => v.weight > 0)?.model ?? split.name;
}

/** Resolves split names to versions and counts the choices. */
export class CanaryRouter {
  private readonly splits: Map<string, CanarySplit>;
  private readonly counts = new Map<string, Map<string, number>>();

  constructor(
    splits: readonly CanarySplit[],
    private readonly random: () => number,
  ) {
    this.splits = new Map(splits.map((s) => [s.name, s]));
  }

  /** The version for a request for `model` (normalised), or undefined when the name is not split. */
  resolve(model: string, sessionKey: string | undefined): CanaryChoice | undefined {
    const split = this.splits.get(model);
    if (!split) return undefined;
    const point = sessionKey ? sessionPoint(sessionKey, split.name) : this.random();
    const chosen = versionAt(split, point);
    const byVersion = this.counts.get(split.name) ?? new Map<string, number>();
    byVersion.set(chosen, (byVersion.get(chosen) ?? 0) + 1);
    this.counts.set(split.name, byVersion);
    return { split: split.name, model: chosen };
  }

  /** Requests per split and version since start, with the configured weights. */
  stats(): { split: string; versions: { model: string; weight: number; requests: number }[] }[] {
    return [...this.splits.values()].map((s) => ({
      split: s.name,
      versions: s.versions.map((v) => ({
        model: v.model,
        weight: v.weight,
        requests: this.counts.get(s.name)?.get(v.model) ?? 0,
      })),
    }));
  }
}
