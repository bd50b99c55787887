/** The gradual preload order of a plan: one model load at a time per GPU, hottest first. */
import type { PlannedDevice, PlannedModel } from "./plan-types.js";

/**
 * Numbers the preloads of each device (`preloadStep`): one load at a time per GPU, hottest model first
 * across the device's instances, then instance order, so no device sees a load storm at start.
 */
export function assignPreloadSteps(
  instances: readonly { device: PlannedDevice; models: PlannedModel[] }[],
  weightOf: (name: string) => number,
): void {
  const queues = new Map<string, { order: number; weight: number; model: PlannedModel }[]>();
  let order = 0;
  for (const instance of instances) {
    const key = instance.device.kind === "gpu" ? instance.device.uuid : "cpu";
    for (const model of instance.models) {
      order += 1;
      if (!model.preload) continue;
      const queue = queues.get(key) ?? [];
      queue.push({ order, weight: weightOf(model.name), model });
      queues.set(key, queue);
    }
  }
  for (const queue of queues.values()) {
    queue
      .sort((a, b) => b.weight - a.weight || a.order - b.order)
      .forEach((entry, i) => (entry.model.preloadStep = i + 1));
  }
}
