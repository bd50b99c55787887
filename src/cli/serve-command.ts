/** `ollama-fleet serve`: load config, pick the fleet, start the gateway, stop cleanly on signals. */
import type { Logger } from "pino";
import { ConfigError, formatConfigProblems, loadConfig } from "../config/load-config.js";
import type { InstanceSpec } from "../backend/instance.js";
import { createLogger, type LogFormat } from "../logging.js";
import { startGateway } from "../main.js";
import {
  OllamaBinaryError,
  startProvisionedFleet,
  type ProvisionedFleet,
} from "../supervisor/provisioned-fleet.js";
import { ollamaAnswers, startEmulatedSeedFleet, type DemoFleet } from "./demo-fleet.js";

/** Flags of `serve` as commander parses them. */
export interface ServeFlags {
  config?: string;
  instances?: string;
  host?: string;
  port?: string;
  adminKey?: string;
  logLevel?: string;
  logFormat?: string;
  emulate?: boolean;
  /** Plan and launch the instances even without GPUs, or from the gpu_instances YAML. */
  provision?: boolean;
  /** The Ollama binary the supervisor launches. */
  ollamaBin?: string;
}

const LOCAL_OLLAMA_URL = "http://127.0.0.1:11434";

/** Runs the gateway until SIGINT/SIGTERM; exits 2 on invalid configuration. */
export async function runServe(flags: ServeFlags): Promise<void> {
  const flagValues: Record<string, unknown> = {};
  if (flags.host !== undefined) flagValues.listenHost = flags.host;
  if (flags.port !== undefined) flagValues.listenPort = flags.port;
  if (flags.adminKey !== undefined) flagValues.adminKey = flags.adminKey;
  if (flags.logLevel !== undefined) flagValues.logLevel = flags.logLevel;
  if (flags.logFormat !== undefined) flagValues.logFormat = flags.logFormat;
  if (flags.ollamaBin !== undefined) flagValues.ollamaBin = flags.ollamaBin;

  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig({
      configFile: flags.config,
      instancesFile: flags.instances,
      env: process.env,
      flags: flagValues,
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ollama-fleet: invalid configuration\n${formatConfigProblems(err.problems)}\n`);
      process.exit(2);
    }
    throw err;
  }
  const { config, warnings } = loaded;
  const logger = createLogger(config.gateway.logLevel, config.gateway.logFormat as LogFormat);
  for (const w of warnings) logger.warn({ file: w.file, key: w.key }, w.message);

  let demo: DemoFleet | undefined;
  let specs: InstanceSpec[] | undefined;
  let emulated = false;
  let provisioned: ProvisionedFleet | undefined;
  if (flags.provision || (config.instances.length === 0 && !flags.emulate)) {
    // Detected GPUs (or --provision): we launch and supervise one `ollama serve` per planned instance.
    try {
      provisioned = await startProvisionedFleet({
        config,
        logger,
        force: flags.provision === true,
        ollamaBin: flags.ollamaBin,
        emulate: flags.emulate === true,
        env: process.env,
      });
    } catch (err) {
      if (!(err instanceof OllamaBinaryError)) throw err;
      process.stderr.write(`ollama-fleet: ${err.message}\n`);
      process.exit(2);
    }
    specs = provisioned?.specs;
    emulated = provisioned?.emulated ?? false;
  }
  if (!provisioned && config.instances.length === 0) {
    if (!flags.emulate && (await ollamaAnswers(LOCAL_OLLAMA_URL, 1000))) {
      logger.info({ url: LOCAL_OLLAMA_URL }, "no instances configured: attaching the local Ollama");
      specs = [localSpec()];
    } else {
      demo = await startEmulatedSeedFleet();
      specs = demo.specs;
      emulated = true;
      logEmulated(logger, demo);
    }
  }

  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway({ config, logger, specs, emulated, supervisor: provisioned?.supervisor });
  } catch (err) {
    logger.fatal({ err }, "gateway failed to start");
    await demo?.close();
    await provisioned?.supervisor.close();
    logger.flush();
    process.exit(1);
  }

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    await gateway.close();
    await demo?.close();
    logger.flush();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

function localSpec(): InstanceSpec {
  return {
    id: "local-11434",
    name: "local Ollama",
    url: LOCAL_OLLAMA_URL,
    gpuId: 0,
    memoryLimitBytes: undefined,
    models: [],
    maxConcurrentRequests: undefined,
  };
}

function logEmulated(logger: Logger, demo: DemoFleet): void {
  const line = "=".repeat(72);
  logger.warn(
    { instances: demo.specs.map((s) => ({ id: s.id, name: s.name, url: s.url })) },
    `\n${line}\nEMULATED FLEET: no Ollama answered at ${LOCAL_OLLAMA_URL} and no instances are configured.\n` +
      `Serving the seed's RTX 3060 Ti + RTX 4070 Ti as EMULATOR processes (fake models, fake text).\n` +
      `Attach real instances with: ollama-fleet serve --instances examples/gpu_instances.yaml\n${line}`,
  );
}
