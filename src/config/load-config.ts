// Builds the FleetConfig from defaults < INI/YAML files < OLLAMA_FLEET_* environment < CLI flags.
import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { endpointKey } from "./instance-schema.js";
import { instancesFromYaml } from "./instances-file.js";
import { ConfigError, type ConfigProblem, type ConfigWarning } from "./problems.js";
import { FILE_ENV, parseFleetConfig, settingKeys, type FleetConfig, type GatewaySettings } from "./schema.js";
import { supervisorRelationProblems, supervisorSchema } from "./supervisor-schema.js";
import {
  describeValue,
  layerSettings,
  settingsFromEnv,
  settingsFromFlags,
  settingsFromIni,
  type RawSetting,
} from "./settings-sources.js";

/** Error and report types live in problems.ts; re-exported so callers need one import. */
export { ConfigError, formatConfigProblems, formatConfigWarnings } from "./problems.js";
/** The shapes of what ConfigError and LoadConfigResult carry. */
export type { ConfigProblem, ConfigWarning } from "./problems.js";
/** Defaults and the size parser, for callers that only import this file. */
export { defaultConfig, parseByteSize } from "./schema.js";

/** Where to read configuration from; only `env` is required. */
export interface LoadConfigInput {
  /** INI path (--config); falls back to $OLLAMA_FLEET_CONFIG. */
  configFile?: string | undefined;
  /** YAML path (--instances); falls back to $OLLAMA_FLEET_INSTANCES. */
  instancesFile?: string | undefined;
  /** Usually process.env. */
  env: Record<string, string | undefined>;
  /** CLI flags already parsed, only the ones that were set; keys are setting fields such as listenPort. */
  flags: Partial<Pick<GatewaySettings, "listenHost" | "listenPort" | "adminKey" | "logLevel" | "logFormat">> &
    Record<string, unknown>;
  /** Base for relative paths; defaults to process.cwd(). */
  cwd?: string;
}

/** The configuration, plus everything suspicious that did not stop it from loading. */
export interface LoadConfigResult {
  config: FleetConfig;
  warnings: ConfigWarning[];
}

/** A file read, or the reason it could not be. */
type ReadOutcome = { absolute: string; text: string } | { problem: ConfigProblem };

/** Which file is being read and how the user pointed at it, for messages. */
interface FileRole {
  path: string;
  /** "--config" or "OLLAMA_FLEET_CONFIG", whichever named the file. */
  via: string;
  example: string;
  /** Extensions that mean the user swapped --config and --instances. */
  wrongExtension: RegExp;
  expected: string;
}

/** How a file was named: the option when given, else the environment variable. */
function fileRole(
  option: string | undefined,
  flag: string,
  variable: string,
  path: string,
  ini: boolean,
): FileRole {
  const via = option === undefined || option === "" ? variable : flag;
  const sample = ini ? "examples/gpu-loadbalancing.ini" : "examples/gpu_instances.yaml";
  return {
    path,
    via,
    example: via === flag ? `${flag} ${sample}` : `${variable}=${sample}`,
    wrongExtension: ini ? /^\.ya?ml$/i : /^\.ini$/i,
    expected: ini ? "an INI file" : "a YAML file",
  };
}

/** Reads one file; a missing or unreadable file becomes a problem naming the option that pointed at it. */
async function readSource(role: FileRole, cwd: string): Promise<ReadOutcome> {
  const absolute = resolve(cwd, role.path);
  const fail = (message: string): ReadOutcome => ({
    problem: { file: role.path, key: "", value: "", message, example: role.example },
  });
  // Swapped --config/--instances is an easy slip, and the parse errors it causes would hide it.
  if (role.wrongExtension.test(extname(role.path))) {
    return fail(`${role.via} expects ${role.expected}; were --config and --instances swapped?`);
  }
  try {
    return { absolute, text: await readFile(absolute, "utf8") };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return fail(`file not found (looked for ${absolute}, named by ${role.via})`);
    if (code === "EISDIR") return fail(`is a directory, not a file (${absolute})`);
    return fail(`cannot be read: ${(error as Error).message}`);
  }
}

/** An instance on the gateway's own address would make the gateway proxy to itself. */
function crossCheck(
  config: FleetConfig,
  origins: Map<string, RawSetting>,
  instancesFile: string,
): ConfigProblem[] {
  const { listenHost, listenPort } = config.gateway;
  if (listenPort === 0) return []; // 0 picks a free port, which cannot clash
  const gateway = endpointKey(
    `http://${listenHost.includes(":") ? `[${listenHost}]` : listenHost}:${listenPort}`,
  );
  const origin = origins.get("listenPort");
  const source = origin === undefined ? "the default ListenPort" : `ListenPort from ${origin.label}`;
  return config.instances.flatMap((instance, index): ConfigProblem[] => {
    if (endpointKey(instance.url) !== gateway) return [];
    const message = `the gateway itself listens on port ${listenPort} (${source}); pick another port for one of them`;
    const key = `gpu_instances[${index}].port`;
    return [{ file: instancesFile, key, value: String(instance.port), message, example: "port: 11434" }];
  });
}

/** [Supervisor] values that pass one by one but contradict each other, reported like any bad value. */
function supervisorProblems(raw: Record<string, unknown>, origins: Map<string, RawSetting>): ConfigProblem[] {
  const parsed = supervisorSchema.safeParse(raw);
  if (!parsed.success) return []; // invalid values were already reported and left out of `raw`
  // The problem names a key the user set, so its origin (file, line, how it was written) is known.
  return supervisorRelationProblems(parsed.data, (field) => origins.has(field)).flatMap((p) => {
    const origin = origins.get(p.field);
    if (origin === undefined) return [];
    const { key } = origin;
    const example =
      origin.file === "environment"
        ? `${key.envName}=${p.validValue}`
        : origin.file === "command line"
          ? `${key.flag} ${p.validValue}`
          : `${key.iniKey} = ${p.validValue}`;
    return [
      {
        file: origin.file,
        key: origin.label,
        value: describeValue(origin.value),
        message: p.message,
        example,
        ...(origin.line === undefined ? {} : { line: origin.line }),
      },
    ];
  });
}

/** Warnings for combinations that load but probably do not do what was meant. */
function oddCombinations(config: FleetConfig, origins: Map<string, RawSetting>): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  const warn = (field: string, fallbackKey: string, message: string) => {
    const origin = origins.get(field);
    warnings.push({ file: origin?.file ?? "defaults", key: origin?.label ?? fallbackKey, message });
  };
  const lb = config.loadBalancing;
  if (lb.healthCheckTimeoutSeconds >= lb.healthCheckIntervalSeconds) {
    const message = `${lb.healthCheckTimeoutSeconds} is not shorter than HealthCheckIntervalSeconds (${lb.healthCheckIntervalSeconds}), so checks can overlap`;
    warn("healthCheckTimeoutSeconds", "[GPU_LoadBalancing] HealthCheckTimeoutSeconds", message);
  }
  const gw = config.gateway;
  if (gw.firstTokenTimeoutSeconds > gw.requestTimeoutSeconds) {
    const message = `${gw.firstTokenTimeoutSeconds} is longer than RequestTimeoutSeconds (${gw.requestTimeoutSeconds}), so it never applies`;
    warn("firstTokenTimeoutSeconds", "[Gateway] FirstTokenTimeoutSeconds", message);
  }
  return warnings;
}

/** Sorted as a reader meets them: INI file, YAML file, environment, command line; then by line. */
function inReadingOrder<T extends ConfigWarning>(items: T[], files: (string | undefined)[]): T[] {
  const order = [...files, "environment", "command line"];
  const rank = (item: T) => (order.includes(item.file) ? order.indexOf(item.file) : order.length);
  return [...items].sort((a, b) => rank(a) - rank(b) || (a.line ?? 0) - (b.line ?? 0));
}

/** Loads and validates the whole configuration; throws ConfigError listing every problem found. */
export async function loadConfig(input: LoadConfigInput): Promise<LoadConfigResult> {
  const cwd = input.cwd ?? process.cwd();
  const keys = settingKeys();
  const problems: ConfigProblem[] = [];
  const warnings: ConfigWarning[] = [];
  const sources: FleetConfig["sources"] = {};
  const nonEmpty = (text: string | undefined) => (text === undefined || text === "" ? undefined : text);

  const configPath = nonEmpty(input.configFile) ?? nonEmpty(input.env[FILE_ENV.configFile]);
  const instancesPath = nonEmpty(input.instancesFile) ?? nonEmpty(input.env[FILE_ENV.instancesFile]);
  const [iniRead, yamlRead] = await Promise.all([
    configPath === undefined
      ? undefined
      : readSource(fileRole(input.configFile, "--config", FILE_ENV.configFile, configPath, true), cwd),
    instancesPath === undefined
      ? undefined
      : readSource(
          fileRole(input.instancesFile, "--instances", FILE_ENV.instancesFile, instancesPath, false),
          cwd,
        ),
  ]);

  let fileSettings: RawSetting[] = [];
  if (iniRead !== undefined && configPath !== undefined) {
    if ("problem" in iniRead) problems.push(iniRead.problem);
    else {
      sources.configFile = iniRead.absolute;
      const ini = settingsFromIni(iniRead.text, configPath, keys);
      problems.push(...ini.problems);
      warnings.push(...ini.warnings);
      fileSettings = ini.settings;
    }
  }
  let instances: unknown[] = [];
  if (yamlRead !== undefined && instancesPath !== undefined) {
    if ("problem" in yamlRead) problems.push(yamlRead.problem);
    else {
      sources.instancesFile = yamlRead.absolute;
      const yaml = instancesFromYaml(yamlRead.text, instancesPath);
      problems.push(...yaml.problems);
      warnings.push(...yaml.warnings);
      instances = yaml.instances;
    }
  }
  const env = settingsFromEnv(input.env, keys);
  const flags = settingsFromFlags(input.flags, keys);
  warnings.push(...env.warnings, ...flags.warnings);
  const layered = layerSettings([fileSettings, env.settings, flags.settings]);
  problems.push(...layered.problems, ...supervisorProblems(layered.values.supervisor, layered.origins));
  const files = [configPath, instancesPath];
  const sortedWarnings = inReadingOrder(warnings, files);
  if (problems.length > 0) throw new ConfigError(inReadingOrder(problems, files), sortedWarnings);

  const config: FleetConfig = parseFleetConfig({ ...layered.values, instances, sources });
  const clashes = crossCheck(config, layered.origins, instancesPath ?? "defaults");
  if (clashes.length > 0) throw new ConfigError(clashes, sortedWarnings);
  return { config, warnings: [...sortedWarnings, ...oddCombinations(config, layered.origins)] };
}
