/**
 * Model version consistency, pure: the digest of each model on every instance (from /api/tags), which
 * instances drift from the majority, and which instances a sync round pulls on.
 */
import type { OllamaTagModel } from "../backend/ollama-types.js";
import { normalizeModelName } from "../util/model-name.js";

/** One instance's installed models, as its last /api/tags said. */
export interface InstanceTags {
  id: string;
  models: readonly OllamaTagModel[];
}

/** One model across the fleet. */
export interface ModelDigests {
  /** Normalised name. */
  model: string;
  /** Every instance holding it has the same digest. */
  consistent: boolean;
  /** Each holder's digest and when its manifest was written. */
  instances: { id: string; digest: string; modifiedAt: string }[];
  /** The distinct digests, most held first, with their holders. */
  digests: { digest: string; instances: string[] }[];
  /** The digest most instances hold; on a tie the most recently written (likelier the registry's now). */
  majorityDigest: string;
  /** Holders whose digest differs from the majority. */
  drifted: string[];
}

/** Per model, the digest on each instance and whether they agree; sorted by model name. */
export function modelDigests(instances: readonly InstanceTags[]): ModelDigests[] {
  const byModel = new Map<string, ModelDigests["instances"]>();
  for (const instance of instances) {
    for (const tag of instance.models) {
      const model = normalizeModelName(tag.name || tag.model);
      const list = byModel.get(model) ?? [];
      list.push({ id: instance.id, digest: tag.digest, modifiedAt: tag.modified_at });
      byModel.set(model, list);
    }
  }
  return [...byModel.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([model, holders]) => {
      const groups = new Map<string, { instances: string[]; newest: number }>();
      for (const h of holders) {
        const group = groups.get(h.digest) ?? { instances: [], newest: -Infinity };
        group.instances.push(h.id);
        group.newest = Math.max(group.newest, Date.parse(h.modifiedAt) || 0);
        groups.set(h.digest, group);
      }
      const ranked = [...groups.entries()].sort(
        ([da, a], [db, b]) =>
          b.instances.length - a.instances.length || b.newest - a.newest || da.localeCompare(db),
      );
      const majorityDigest = ranked[0]?.[0] ?? "";
      return {
        model,
        consistent: ranked.length <= 1,
        instances: holders,
        digests: ranked.map(([digest, g]) => ({ digest, instances: g.instances })),
        majorityDigest,
        drifted: holders.filter((h) => h.digest !== majorityDigest).map((h) => h.id),
      };
    });
}

/**
 * The instances one sync round pulls the tag on. Round 1: the drifted ones, since an instance that
 * missed an update is the usual cause and pulling on it brings the registry's current version. If drift
 * remains, the registry's version was the minority's: round 2 pulls on every holder not pulled yet.
 * A pull of a tag that is already current is cheap (Ollama finds every layer present).
 */
export function syncTargets(drift: ModelDigests, round: 1 | 2, pulled: ReadonlySet<string>): string[] {
  if (drift.consistent) return [];
  const candidates = round === 1 ? drift.drifted : drift.instances.map((i) => i.id);
  return candidates.filter((id) => !pulled.has(id));
}
