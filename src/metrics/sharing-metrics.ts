/** Counters of embedding merging and request coalescing, from their typed events. */
import { Counter, type Registry } from "prom-client";
import type { GatewayEvents } from "../http/gateway-events.js";
import type { TypedEmitter } from "../util/typed-emitter.js";

/** Registers the sharing counters; returns the unsubscribe functions. */
export function registerSharingMetrics(
  registry: Registry,
  events: TypedEmitter<GatewayEvents>,
): Array<() => void> {
  const r = [registry];
  const mergedCalls = new Counter({
    name: "ollama_fleet_embed_merged_calls_total",
    help: "Merged upstream embedding calls by model and outcome (split, fallback, abandoned).",
    labelNames: ["model", "outcome"] as const,
    registers: r,
  });
  const mergedRequests = new Counter({
    name: "ollama_fleet_embed_merged_requests_total",
    help: "Client embedding requests carried by merged upstream calls, by model.",
    labelNames: ["model"] as const,
    registers: r,
  });
  const coalesced = new Counter({
    name: "ollama_fleet_coalesced_requests_total",
    help: "Requests that joined an identical deterministic request in flight and shared its upstream call.",
    labelNames: ["endpoint", "model"] as const,
    registers: r,
  });
  return [
    events.on("embed-merged", (e) => {
      mergedCalls.inc({ model: e.model, outcome: e.outcome });
      mergedRequests.inc({ model: e.model }, e.members);
    }),
    events.on("request-coalesced", (e) => coalesced.inc({ endpoint: e.endpoint, model: e.model })),
  ];
}
