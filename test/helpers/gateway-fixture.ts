/** Test fixture: a real gateway (in this process) in front of real emulator processes on free ports. */
import { pino } from "pino";
import { defaultConfig } from "../../src/config/load-config.js";
import type { FleetConfig, InstanceConfig } from "../../src/config/schema.js";
import { startGateway, type Gateway, type GatewayOptions } from "../../src/main.js";
import { spawnEmulator } from "./spawn-emulator.js";

/** One emulator to start, by its CLI arguments. */
export interface EmulatorSpec {
  args: string[];
  /** Models the config assigns to this instance (pull targets). */
  assigned?: string[];
}

/** A running gateway and its emulators. */
export interface FleetFixture {
  gateway: Gateway;
  url: string;
  emulators: Awaited<ReturnType<typeof spawnEmulator>>[];
  close(): Promise<void>;
}

/**
 * Starts the emulators, then a gateway configured with them as `gpu_instances`. `extra` overrides gateway
 * options (a logger, a GPU poller, a span exporter); by default no GPU monitor runs, whatever the machine has.
 */
export async function startFleet(
  emulators: EmulatorSpec[],
  tune: (config: FleetConfig) => void = () => {},
  extra: Partial<Omit<GatewayOptions, "config">> = {},
): Promise<FleetFixture> {
  const started = await Promise.all(emulators.map((e) => spawnEmulator(["--time-scale", "50", ...e.args])));
  const config = defaultConfig();
  config.gateway.listenPort = 0;
  config.gateway.logLevel = "silent";
  config.instances = started.map((e, i): InstanceConfig => ({
    id: `gpu${i}-${e.port}`,
    gpuId: i,
    name: `emulated ${i}`,
    port: e.port,
    url: e.url,
    memoryLimitBytes: undefined,
    models: emulators[i]?.assigned ?? [],
    maxConcurrentRequests: undefined,
  }));
  tune(config);
  let gateway: Gateway;
  try {
    gateway = await startGateway({ config, logger: pino({ level: "silent" }), gpuPoller: null, ...extra });
  } catch (err) {
    await Promise.all(started.map((e) => e.stop()));
    throw err;
  }
  return {
    gateway,
    url: gateway.url,
    emulators: started,
    async close() {
      await gateway.close();
      await Promise.all(started.map((e) => e.stop()));
    },
  };
}

/** Polls until `check` returns true or the timeout passes (for effects seen through counters). */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
