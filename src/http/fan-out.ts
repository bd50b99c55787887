/** Calls several instances at once and collects each one's result or failure. */
import type { Instance } from "../backend/instance.js";
import { errorText } from "../backend/fleet.js";

/** One instance's result of a fan-out call. */
export type FanOutResult<T> =
  | { instance: Instance; ok: true; value: T }
  | { instance: Instance; ok: false; error: string; status: number | undefined };

/** Runs `fn` on every instance concurrently; failures are captured, never thrown. */
export async function fanOut<T>(
  instances: readonly Instance[],
  fn: (instance: Instance) => Promise<T>,
): Promise<FanOutResult<T>[]> {
  return Promise.all(
    instances.map(async (instance): Promise<FanOutResult<T>> => {
      try {
        return { instance, ok: true, value: await fn(instance) };
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        const message = (err as { upstreamMessage?: string }).upstreamMessage ?? errorText(err);
        return { instance, ok: false, error: message, status };
      }
    }),
  );
}

/** Instances that may be asked about their models: not known to be down (draining ones still answer). */
export function reachableInstances(instances: readonly Instance[]): Instance[] {
  return instances.filter((i) => i.health !== "unhealthy");
}
