/**
 * Preloading an instance's assigned models: what is on disk, pulling what is missing (when allowed),
 * then one load at a time through the device lock, each reported as an event and a log line.
 */
import type { Logger } from "pino";
import type { Clock } from "../queue/clock.js";
import { normalizeModelName } from "../util/model-name.js";
import type { TypedEmitter } from "../util/typed-emitter.js";
import type { OllamaAdmin } from "./ollama-admin.js";
import type { PlannedInstance } from "./plan-types.js";
import type { SupervisorEvents, SupervisorSettings } from "./supervisor-types.js";

/** What preloading needs from the runner. */
export interface PreloadContext {
  id: string;
  planned: PlannedInstance;
  admin: OllamaAdmin;
  settings: SupervisorSettings;
  clock: Clock;
  events: TypedEmitter<SupervisorEvents>;
  logger: Logger;
  /** Runs one load while no other load runs on the same device, lowest plan step first. */
  deviceLock: (step: number, fn: () => Promise<void>) => Promise<void>;
  onPreloadError: (model: string, message: string) => void;
}

/** Loads `models` in order; a model that fails is reported and skipped (the instance still serves). */
export async function preloadModels(
  ctx: PreloadContext,
  models: string[],
  signal: AbortSignal,
): Promise<void> {
  if (models.length === 0) return;
  let onDisk = new Set<string>();
  try {
    const tags = await ctx.admin.tags(
      AbortSignal.any([signal, AbortSignal.timeout(ctx.settings.healthTimeoutMs)]),
    );
    onDisk = new Set(tags.map((t) => normalizeModelName(t.name || t.model)));
  } catch (err) {
    ctx.logger.warn({ err: (err as Error).message }, "could not list models before preloading");
  }
  for (const [i, model] of models.entries()) {
    if (signal.aborted) return;
    const step = ctx.planned.models.find((m) => m.name === model)?.preloadStep ?? i + 1;
    await ctx.deviceLock(step, async () => {
      if (!signal.aborted) await preloadOne(ctx, model, onDisk.has(normalizeModelName(model)), signal);
    });
  }
}

async function preloadOne(
  ctx: PreloadContext,
  model: string,
  present: boolean,
  signal: AbortSignal,
): Promise<void> {
  const { settings, clock } = ctx;
  const started = clock.now();
  const report = (outcome: SupervisorEvents["preload"]["outcome"], error?: string): void => {
    const durationMs = clock.now() - started;
    ctx.events.emit("preload", { id: ctx.id, model, outcome, durationMs, error });
    const log = outcome === "loaded" || outcome === "pulled" ? "info" : "warn";
    ctx.logger[log]({ model, outcome, durationMs, err: error }, `preload ${outcome}`);
  };
  if (!present && !settings.allowPull) {
    return report("missing", `'${model}' is not on disk and pulling is not allowed`);
  }
  try {
    if (!present)
      await ctx.admin.pull(model, AbortSignal.any([signal, AbortSignal.timeout(settings.pullTimeoutMs)]));
    const loadSignal = AbortSignal.any([signal, AbortSignal.timeout(settings.preloadTimeoutMs)]);
    await ctx.admin.load(model, settings.keepAlive, loadSignal);
    report(present ? "loaded" : "pulled");
  } catch (err) {
    if (signal.aborted) return;
    const message = (err as Error).message;
    report("failed", message);
    ctx.onPreloadError(model, message);
  }
}
