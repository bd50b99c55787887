/** ollama_fleet_model_digest_drift{model}: instances whose copy of a model differs from the majority's. */
import { Gauge, type Registry } from "prom-client";
import type { Fleet } from "../backend/fleet.js";
import { modelDigests } from "../supervisor/model-drift.js";

/** Registers the drift gauge, computed at each scrape from the inventories the fleet already holds. */
export function registerModelDriftMetrics(registry: Registry, fleet: Fleet): void {
  new Gauge({
    name: "ollama_fleet_model_digest_drift",
    help: "Instances whose digest of the model differs from the majority's (0: every copy is the same version).",
    labelNames: ["model"] as const,
    registers: [registry],
    collect() {
      this.reset();
      const instances = fleet.instances().map((i) => ({ id: i.id, models: i.tagModels() }));
      for (const m of modelDigests(instances)) this.set({ model: m.model }, m.drifted.length);
    },
  });
}
