/**
 * `serve --provision` (or no gpu_instances and GPUs detected): detect, plan, pick the program that plays
 * `ollama serve`, and start the supervisor. Returns the gateway's instance specs; the gateway routes to
 * each instance once the supervisor says it is ready.
 */
import type { Logger } from "pino";
import type { InstanceSpec } from "../backend/instance.js";
import type { FleetConfig } from "../config/schema.js";
import { supervisorTimers } from "../config/supervisor-schema.js";
import { detectGpus } from "../gpu/detect.js";
import type { GpuInventoryResult } from "../gpu/types.js";
import { emulatedGpuEnv, emulatedOllamaServe, findExecutable, ollamaServe } from "./ollama-binary.js";
import type { ProvisionPlan } from "./plan-types.js";
import { planProvisioning } from "./provision-plan.js";
import { Supervisor } from "./supervisor.js";
import type { SupervisorSettingsInput } from "./supervisor-settings.js";

/** A started provisioned fleet. */
export interface ProvisionedFleet {
  supervisor: Supervisor;
  specs: InstanceSpec[];
  plan: ProvisionPlan;
  /** True when the emulator plays `ollama serve` (no Ollama installed). */
  emulated: boolean;
}

/** What starting one needs. */
export interface ProvisionedFleetOptions {
  config: FleetConfig;
  logger: Logger;
  /** --provision: plan even without GPUs (a CPU instance), and from the YAML entries when given. */
  force: boolean;
  /** --ollama-bin, over [Provisioning] OllamaBin. */
  ollamaBin?: string | undefined;
  /** --emulate with --provision: the emulator plays `ollama serve` even where Ollama is installed. */
  emulate?: boolean;
  env: NodeJS.ProcessEnv;
  /** Detection result to use instead of detecting (tests). */
  inventory?: GpuInventoryResult;
  /** Supervisor tuning over [Provisioning] and [Supervisor] (tests shorten the timers). */
  settings?: SupervisorSettingsInput;
}

/** Thrown when the configured Ollama binary does not exist (exit status 2, like a bad config). */
export class OllamaBinaryError extends Error {
  override readonly name = "OllamaBinaryError";
}

/**
 * Detects and plans; undefined when there is nothing to provision (no GPU and not forced), so the caller
 * keeps its other fallbacks. Throws OllamaBinaryError for an explicit binary that does not exist.
 */
export async function startProvisionedFleet(
  o: ProvisionedFleetOptions,
): Promise<ProvisionedFleet | undefined> {
  const inventory = o.inventory ?? (await detectGpus({ env: o.env }));
  if (!o.force && inventory.gpus.length === 0) return undefined;
  const p = o.config.provisioning;
  const plan = planProvisioning(inventory, {
    provisioning: p,
    instances: o.force ? o.config.instances : [],
  });
  for (const w of [...inventory.warnings, ...plan.warnings]) o.logger.warn(w);
  for (const u of plan.unplaced) o.logger.warn({ model: u.name }, `model not placed: ${u.reason}`);

  const explicit = o.ollamaBin ?? (p.ollamaBin !== "ollama" ? p.ollamaBin : undefined);
  const found = o.emulate ? undefined : findExecutable(explicit ?? "ollama", o.env);
  if (!found && explicit !== undefined && !o.emulate) {
    throw new OllamaBinaryError(`the Ollama binary "${explicit}" was not found or is not executable`);
  }
  const emulated = found === undefined;
  const timers = supervisorTimers(o.config.supervisor);
  const supervisor = new Supervisor({
    plan,
    logger: o.logger.child({ component: "supervisor" }),
    env: o.env,
    settings: {
      modelsDir: p.modelsDir,
      keepAlive: p.keepAlive,
      allowPull: p.allowPull,
      ...timers,
      ...o.settings,
      restart: { ...timers.restart, ...o.settings?.restart },
      oom: { ...timers.oom, ...o.settings?.oom },
      ollama: found ? ollamaServe(found) : emulatedOllamaServe(),
      ...(emulated ? { extraEnv: emulatedGpuEnv } : {}),
    },
  });
  if (emulated) logEmulated(o.logger, inventory, plan, o.emulate === true);
  o.logger.info(
    {
      instances: plan.instances.map((i) => ({
        id: i.id,
        device: i.device.kind === "gpu" ? `${i.device.name} (${i.device.uuid})` : "cpu",
        port: i.port,
        numParallel: i.numParallel,
        models: i.models.map((m) => m.name),
        external: i.externalUrl,
      })),
      ollama: supervisor.settings.ollama.command,
    },
    "starting provisioned instances",
  );
  supervisor.start();
  return { supervisor, specs: supervisor.specs(), plan, emulated };
}

function logEmulated(
  logger: Logger,
  inventory: GpuInventoryResult,
  plan: ProvisionPlan,
  asked: boolean,
): void {
  const line = "=".repeat(72);
  const gpus = inventory.gpus.map((g) => g.name).join(", ") || "none (CPU)";
  const why = asked ? "--emulate was given." : "no `ollama` binary on PATH.";
  logger.warn(
    { instances: plan.instances.map((i) => i.id) },
    `\n${line}\nEMULATED OLLAMA: ${why} The planned instances (GPUs: ${gpus})\n` +
      `run as EMULATOR processes playing \`ollama serve\` (fake models, fake text).\n` +
      `Install Ollama, or give its path with --ollama-bin or [Provisioning] OllamaBin.\n${line}`,
  );
}
