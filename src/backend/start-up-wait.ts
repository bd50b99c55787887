/**
 * Requests during start-up: an instance the supervisor is still starting (held, its models not known yet,
 * or known to include the model) may serve a request that nothing else can take, so the request waits in
 * the queue for it rather than getting a 404 or 503; once every instance is known and none has the
 * model, the waiter gets model_not_found.
 */
import type { Instance } from "./instance.js";

/** Whether a held instance could turn out to serve `model`. */
function mayServeOnceStarted(i: Instance, model: string): boolean {
  return i.supervisorHold !== undefined && (i.tagModels().length === 0 || i.hasModel(model));
}

/** Whether some instance (not excluded) that the supervisor is starting could serve `model`. */
export function startingCouldServe(
  instances: readonly Instance[],
  model: string,
  exclude: ReadonlySet<string>,
): boolean {
  return instances.some((i) => !exclude.has(i.id) && mayServeOnceStarted(i, model));
}

/** Whether some instance has `model` on disk, or is starting with its models not known yet. */
export function mayEverServe(instances: readonly Instance[], model: string): boolean {
  return instances.some((i) => i.hasModel(model) || mayServeOnceStarted(i, model));
}

/** Thrown by the queue's placement for a waiter whose model no instance has: the pump fails that waiter. */
export class ModelGone extends Error {
  constructor(model: string) {
    super(`no instance has model '${model}'`);
  }
}
