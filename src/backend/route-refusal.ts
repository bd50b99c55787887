/**
 * Why a request can be placed nowhere, now or later: the answer `Router.route` gives when no instance may
 * ever take it (none reachable, none has the model, or every holder is out of service, each named).
 */
import type { Candidate } from "../routing/types.js";
import type { Instance } from "./instance.js";
import type { RouteResult } from "./router-types.js";

/** The refusal for `model` given the instances and the candidates that have it (none eligible). */
export function refusal(
  instances: readonly Instance[],
  holders: readonly Candidate[],
  model: string,
): RouteResult {
  if (holders.length === 0) {
    const reachable = instances.filter((i) => i.health !== "unhealthy").length;
    return reachable === 0
      ? { kind: "none", reason: "no_instance", detail: `0 of ${instances.length} instances are reachable` }
      : { kind: "none", reason: "model_not_found", detail: `no instance has model '${model}'` };
  }
  const why = holders.map((c) => `${c.id}: ${describe(c)}`).join("; ");
  return { kind: "none", reason: "no_instance", detail: why };
}

/** Why one holder of the model cannot take requests. */
function describe(c: Candidate): string {
  if (!c.canHoldModel)
    return "its memory limit cannot hold the model, or its GPU lacks the precision it requires";
  if (c.draining) return "draining";
  if (c.health === "unhealthy") return "unhealthy";
  if (c.breaker === "open") return "circuit breaker open";
  if (c.breaker === "half-open") return "circuit breaker half-open, trial in flight";
  return "unavailable";
}
