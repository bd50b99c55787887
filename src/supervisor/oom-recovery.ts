/**
 * What to do about an out-of-memory failure, escalating one step per repeat: unload the instance's other
 * models; then halve its parallel slots (each slot holds a KV cache of num_ctx tokens); then move the
 * model to the instance with the most free memory; then give up and say so. Pure: the caller passes the
 * situation and the time, and carries out the action.
 */
import type { OomKind } from "./oom-classifier.js";

/** A recovery step. */
export type OomActionKind = "unload-others" | "reduce-parallel" | "move-model" | "none";

/** A recovery step with what it needs to run. */
export type OomAction =
  | { kind: "unload-others"; models: string[] }
  | { kind: "reduce-parallel"; from: number; to: number }
  | { kind: "move-model"; toInstanceId: string }
  | { kind: "none"; reason: string };

/** Another instance the model could move to. */
export interface MoveCandidate {
  id: string;
  /** Memory limit minus what its loaded models take, bytes. */
  freeBytes: number;
}

/** The instance and model an out-of-memory error hit, as the recovery decision needs them. */
export interface OomSituation {
  kind: OomKind;
  /** The model that failed to load or run (normalised); undefined when the source did not say. */
  model: string | undefined;
  /** Models loaded on the instance now (normalised), the failing one included if it is. */
  loadedModels: string[];
  /** Its current OLLAMA_NUM_PARALLEL. */
  numParallel: number;
  /** Free memory of the instance itself, bytes (limit minus loaded). */
  freeBytes: number;
  /** Expected size of the model, bytes, if known. */
  modelSizeBytes: number | undefined;
  /** Ready instances other than this one. */
  candidates: MoveCandidate[];
  /** Steps already taken for this instance and model inside the escalation window. */
  tried: OomActionKind[];
}

/** The next recovery step for a situation (pure). */
export function decideOomRecovery(s: OomSituation): OomAction {
  const others = s.loadedModels.filter((m) => m !== s.model);
  if (!s.tried.includes("unload-others") && others.length > 0) {
    return { kind: "unload-others", models: others };
  }
  if (s.numParallel > 1) {
    return { kind: "reduce-parallel", from: s.numParallel, to: Math.max(1, Math.floor(s.numParallel / 2)) };
  }
  if (s.model === undefined) return { kind: "none", reason: "the error names no model to move" };
  if (s.tried.includes("move-model")) {
    return { kind: "none", reason: `'${s.model}' was already moved once; it does not fit here` };
  }
  const need = s.modelSizeBytes ?? 0;
  const best = s.candidates
    .filter((c) => c.freeBytes > s.freeBytes && c.freeBytes >= need)
    .sort((a, b) => b.freeBytes - a.freeBytes || a.id.localeCompare(b.id))[0];
  if (best) return { kind: "move-model", toInstanceId: best.id };
  return {
    kind: "none",
    reason: `no other instance has more free memory for '${s.model}'; unloading and fewer slots did not help`,
  };
}

/** Settings of the escalation bookkeeping. */
export interface OomEscalationSettings {
  /** Steps taken for an instance and model are remembered this long, ms. */
  windowMs: number;
  /** After a step finishes, further errors on the same instance are counted but not acted on, ms. */
  cooldownMs: number;
}

/** Defaults: remember steps for 10 minutes; let a step settle for 5 s. */
export const DEFAULT_OOM_ESCALATION: OomEscalationSettings = { windowMs: 600_000, cooldownMs: 5_000 };

/** Whether an error should start a recovery step now, or why not. */
export type OomGate = { act: true; tried: OomActionKind[] } | { act: false; why: "in-progress" | "cooldown" };

/**
 * Per-instance escalation memory: which steps were taken for which model, whether one is running, and
 * the cooldown after it. Pure bookkeeping on passed-in times.
 */
export class OomEscalation {
  private readonly steps = new Map<string, { kind: OomActionKind; atMs: number }[]>();
  private readonly busy = new Set<string>();
  private readonly settledAt = new Map<string, number>();

  constructor(private readonly settings: OomEscalationSettings) {}

  /** Decides whether a new error on `instanceId` for `model` may start a step at `nowMs`; claims it if so. */
  begin(instanceId: string, model: string | undefined, nowMs: number): OomGate {
    if (this.busy.has(instanceId)) return { act: false, why: "in-progress" };
    const settled = this.settledAt.get(instanceId);
    if (settled !== undefined && nowMs - settled < this.settings.cooldownMs)
      return { act: false, why: "cooldown" };
    this.busy.add(instanceId);
    return { act: true, tried: this.tried(instanceId, model, nowMs) };
  }

  /** Records the step taken (or "none") and starts the cooldown. */
  finish(instanceId: string, model: string | undefined, kind: OomActionKind, nowMs: number): void {
    this.busy.delete(instanceId);
    this.settledAt.set(instanceId, nowMs);
    const key = keyOf(instanceId, model);
    const list = this.steps.get(key) ?? [];
    list.push({ kind, atMs: nowMs });
    this.steps.set(key, list);
  }

  /** Steps taken for the instance and model within the window. */
  tried(instanceId: string, model: string | undefined, nowMs: number): OomActionKind[] {
    const key = keyOf(instanceId, model);
    const fresh = (this.steps.get(key) ?? []).filter((s) => nowMs - s.atMs < this.settings.windowMs);
    this.steps.set(key, fresh);
    return fresh.map((s) => s.kind);
  }
}

function keyOf(instanceId: string, model: string | undefined): string {
  return `${instanceId}\u0000${model ?? ""}`;
}
