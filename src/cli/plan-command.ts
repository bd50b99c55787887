/** `ollama-fleet plan [--json]`: detect the devices, plan the instances and models, say why. */
import {
  ConfigError,
  formatConfigProblems,
  formatConfigWarnings,
  loadConfig,
} from "../config/load-config.js";
import { detectGpus, type DetectGpusOptions } from "../gpu/detect.js";
import { probeModelCatalog } from "../supervisor/model-catalog.js";
import { buildPlanReport, formatPlanTable } from "../supervisor/plan-report.js";
import { planProvisioning } from "../supervisor/provision-plan.js";

/** Flags of `plan` as commander parses them. */
export interface PlanFlags {
  /** Print the JSON document (docs/provisioning.md) instead of the table. */
  json?: boolean;
  /** NVML library to load instead of libnvidia-ml.so.1 (e.g. a test double). */
  nvmlLibrary?: string;
  /** INI file ([Provisioning] and the rest). */
  config?: string;
  /** YAML gpu_instances file; when given, the plan reflects it. */
  instances?: string;
  /** false with --no-probe: do not ask running instances for model sizes. */
  probe?: boolean;
}

/** What runPlan talks to; the defaults are the real process and machine. */
export interface PlanDeps {
  /** Where output goes; default process.stdout. */
  write?: (text: string) => void;
  /** Where problems go; default process.stderr. */
  writeError?: (text: string) => void;
  /** Environment for config and detection; default process.env. */
  env?: Record<string, string | undefined>;
  /** Detection options beyond env and the NVML path (tests inject runCommand here). */
  detectOptions?: Partial<DetectGpusOptions>;
  /** How long each running instance may take to list its models; default 500 ms. */
  probeTimeoutMs?: number;
}

/** Plans and prints; returns the exit status (2: invalid configuration). */
export async function runPlan(flags: PlanFlags, deps: PlanDeps = {}): Promise<number> {
  const write = deps.write ?? ((text: string) => void process.stdout.write(text));
  const writeError = deps.writeError ?? ((text: string) => void process.stderr.write(text));
  const env = deps.env ?? process.env;
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig({ configFile: flags.config, instancesFile: flags.instances, env, flags: {} });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    writeError(`ollama-fleet: invalid configuration\n${formatConfigProblems(err.problems)}\n`);
    return 2;
  }
  if (loaded.warnings.length > 0) writeError(`${formatConfigWarnings(loaded.warnings)}\n`);
  const inventory = await detectGpus({
    env,
    ...(flags.nvmlLibrary === undefined ? {} : { nvmlLibraryPath: flags.nvmlLibrary }),
    ...deps.detectOptions,
  });
  let plan = planProvisioning(inventory, loaded.config);
  if (flags.probe !== false) {
    // Instances already running (a previous start) know the real sizes: plan again with them.
    const urls = plan.instances.map((i) => i.externalUrl ?? `http://127.0.0.1:${i.port}`);
    const catalog = await probeModelCatalog(urls, deps.probeTimeoutMs ?? 500);
    if (catalog.size > 0) plan = planProvisioning(inventory, loaded.config, catalog);
  }
  const report = buildPlanReport(plan, inventory);
  write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatPlanTable(report));
  return 0;
}
