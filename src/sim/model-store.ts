/** The models "on disk" of one emulator: what /api/tags lists and what pull, copy and delete change. */
import { digestOf, formatParameterSize, normalizeModelName } from "./catalog.js";
import type { ModelSpec } from "./types.js";

/** An installed model: its spec under its own name, its manifest digest and when it was written. */
export interface InstalledModel {
  spec: ModelSpec;
  digest: string;
  modifiedAt: number;
}

/** api.ModelDetails of a model. */
export function modelDetails(spec: ModelSpec): Record<string, unknown> {
  return {
    parent_model: "",
    format: "gguf",
    family: spec.family,
    families: [spec.family],
    parameter_size: formatParameterSize(spec.parameterCount),
    quantization_level: spec.quantization,
  };
}

/**
 * The manifest digest of a tag at a registry revision. Revision 0 is the digest every emulator has always
 * given the name; a later revision is what the registry serves after its owner published a new version
 * of the tag, so re-pulling it changes the digest, as it does with Ollama.
 */
export function revisionDigest(name: string, revision: number): string {
  return digestOf(revision === 0 ? name : `${name}#revision${revision}`);
}

/** Installed models by case-insensitive name (Ollama matches names case-insensitively). */
export class ModelStore {
  private readonly models = new Map<string, InstalledModel>();
  /** This emulator's view of the registry: the revision each tag is at (absent: 0). */
  private readonly registry = new Map<string, number>();

  constructor(initial: ModelSpec[]) {
    const now = Date.now();
    // Earlier entries look newer, so /api/tags lists them in the order given.
    initial.forEach((spec, i) => this.put(spec, digestOf(spec.name), now - i * 1000));
  }

  /** The installed model a request names, if any. */
  get(name: string): InstalledModel | undefined {
    const n = normalizeModelName(name);
    return n === null ? undefined : this.models.get(n.toLowerCase());
  }

  put(spec: ModelSpec, digest: string, modifiedAt = Date.now()): void {
    this.models.set(spec.name.toLowerCase(), { spec, digest, modifiedAt });
  }

  /** Removes a model; false when it was not there. */
  delete(name: string): boolean {
    const n = normalizeModelName(name);
    return n !== null && this.models.delete(n.toLowerCase());
  }

  /** Copies a model under a new name with the same digest (same manifest, as Ollama's copy). */
  copy(source: string, destination: string): boolean {
    const src = this.get(source);
    const dst = normalizeModelName(destination);
    if (!src || dst === null) return false;
    this.put({ ...src.spec, name: dst }, src.digest);
    return true;
  }

  /** Publishes a revision of a tag in the registry this emulator pulls from (POST /__sim/registry). */
  setRegistryRevision(name: string, revision: number): void {
    this.registry.set(name.toLowerCase(), revision);
  }

  /** The digest a pull of this tag gets now. */
  registryDigest(name: string): string {
    return revisionDigest(name, this.registry.get(name.toLowerCase()) ?? 0);
  }

  /** Every tag whose registry revision was set, with it. */
  registryRevisions(): Record<string, number> {
    return Object.fromEntries(this.registry);
  }

  /** Installed models, most recently modified first (as ListHandler sorts). */
  list(): InstalledModel[] {
    return [...this.models.values()].sort((a, b) => b.modifiedAt - a.modifiedAt);
  }
}
