/**
 * What the gateway believes an instance has in memory: the last /api/ps answer, corrected for the loads
 * the gateway itself started since. Without the correction the view is stale for a whole refresh
 * interval after every swap: the model being loaded looks cold (so its next requests start a second
 * load elsewhere) and the models the load evicts look hot (so their requests are sent back and swap
 * again). A started load counts as loaded at once and the models it will evict (Ollama's choice, see
 * src/routing/eviction.ts) as gone; the next /api/ps after the load ends replaces the guess.
 */
import { memoryNeededBytes } from "../routing/model-fit.js";
import { victimsFor } from "../routing/eviction.js";
import type { OllamaPsModel } from "./ollama-types.js";
import { normalizeModelName } from "../util/model-name.js";

/** A load the gateway started and /api/ps has not confirmed yet. */
interface ExpectedLoad {
  bytes: number;
  /** Set once a request for it ended: the next /api/ps is then the truth, listed or not. */
  ended: boolean;
}

/** Loaded models of one instance as reported and as expected; in-flight requests per model. */
export class ResidencyView {
  private reported = new Map<string, OllamaPsModel>();
  private readonly expected = new Map<string, ExpectedLoad>();
  private readonly leaving = new Set<string>();
  private readonly inFlight = new Map<string, number>();

  /** The context (tokens per sequence) /api/ps reports a loaded model runs with, if it says. */
  contextLength(model: string): number | undefined {
    const n = this.reported.get(model)?.context_length;
    return typeof n === "number" && n > 0 ? n : undefined;
  }

  /** Replaces the reported models with a fresh /api/ps answer; settles the loads that ended. */
  setReported(ps: readonly OllamaPsModel[]): void {
    this.reported = new Map(ps.map((m) => [normalizeModelName(m.name || m.model), m]));
    for (const [model, load] of this.expected) {
      if (load.ended || this.reported.has(model)) this.expected.delete(model);
    }
    if (this.expected.size === 0) this.leaving.clear();
    else for (const model of this.leaving) if (!this.reported.has(model)) this.leaving.delete(model);
  }

  /** The last /api/ps answer as the instance gave it. */
  reportedModels(): OllamaPsModel[] {
    return [...this.reported.values()];
  }

  /** Whether the model is loaded here or being loaded by a request the gateway sent. */
  isLoaded(model: string): boolean {
    return this.expected.has(model) || (this.reported.has(model) && !this.leaving.has(model));
  }

  /** Memory taken by the models believed loaded, bytes. */
  loadedBytes(): number {
    let sum = 0;
    for (const [model, m] of this.reported) if (!this.leaving.has(model)) sum += m.size_vram || m.size || 0;
    for (const load of this.expected.values()) sum += load.bytes;
    return sum;
  }

  /** Models a load of `model` (file size `sizeBytes`) would unload under `limitBytes`, in Ollama's order. */
  victims(model: string, sizeBytes: number, limitBytes: number | undefined): string[] {
    if (limitBytes === undefined || this.isLoaded(model)) return [];
    const loaded = [...this.reported]
      .filter(([name]) => !this.leaving.has(name))
      .map(([name, m]) => ({
        name,
        bytes: m.size_vram || m.size || 0,
        digest: m.digest,
        inFlight: this.inFlightFor(name),
      }));
    // A load already under way cannot be unloaded: its memory is simply taken.
    const expectedBytes = [...this.expected.values()].reduce((s, l) => s + l.bytes, 0);
    return victimsFor(loaded, memoryNeededBytes(sizeBytes), limitBytes - expectedBytes);
  }

  /**
   * A request the gateway sent will load `model` here, unless it is loaded already: count it loaded and its
   * victims gone. Returns whether this request starts the load.
   */
  beginLoad(model: string, sizeBytes: number, limitBytes: number | undefined): boolean {
    if (this.isLoaded(model)) return false;
    for (const victim of this.victims(model, sizeBytes, limitBytes)) this.leaving.add(victim);
    this.expected.set(model, { bytes: memoryNeededBytes(sizeBytes), ended: false });
    return true;
  }

  /**
   * A request for `model` ended. A success confirms an expected load until the next /api/ps; a failure
   * with nothing else in flight for the model drops the expectation (the load may never happen, or may
   * finish without a client: Ollama goes on loading when the client leaves). Returns true when the
   * guess changed so that only /api/ps can tell what is loaded now.
   */
  endRequest(model: string, ok: boolean): boolean {
    const load = this.expected.get(model);
    if (!load) return false;
    if (ok) {
      load.ended = true;
      return true;
    }
    if (this.inFlightFor(model) > 0) return false;
    this.expected.delete(model);
    if (this.expected.size === 0) this.leaving.clear();
    return true;
  }

  /** Counts a request for `model` in flight here (+1) or done (-1). */
  countInFlight(model: string, delta: 1 | -1): void {
    const next = (this.inFlight.get(model) ?? 0) + delta;
    if (next > 0) this.inFlight.set(model, next);
    else this.inFlight.delete(model);
  }

  /** Requests in flight here for `model`. */
  inFlightFor(model: string): number {
    return this.inFlight.get(model) ?? 0;
  }

  /** Forgets a model (deleted from disk). */
  forget(model: string): void {
    this.reported.delete(model);
    this.expected.delete(model);
    this.leaving.delete(model);
  }
}
