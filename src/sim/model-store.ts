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

/** Installed models by case-insensitive name (Ollama matches names case-insensitively). */
export class ModelStore {
  private readonly models = new Map<string, InstalledModel>();

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

  /** Installed models, most recently modified first (as ListHandler sorts). */
  list(): InstalledModel[] {
    return [...this.models.values()].sort((a, b) => b.modifiedAt - a.modifiedAt);
  }
}
