// The configuration's single source of truth: one zod schema gives the types, the defaults and the checks.
import { z } from "zod";
import {
  booleanField,
  byteSizeField,
  choiceField,
  hostField,
  numberField,
  secondsField,
  secretField,
  wholeNumber,
} from "./fields.js";
import { instancesSchema } from "./instance-schema.js";
import { provisioningSchema, type ProvisioningSettings } from "./provisioning-schema.js";
import { trafficSchema, type TrafficSettings } from "./traffic-schema.js";
import { observabilitySchema, type ObservabilitySettings } from "./observability-schema.js";
import { supervisorSchema, type SupervisorSectionSettings } from "./supervisor-schema.js";

/** The [Provisioning] settings' shapes, for callers that only import this file. */
export type { PlannedModelSetting, ProvisioningSettings } from "./provisioning-schema.js";
export type { CanarySplit, CanaryVersion, TrafficSettings } from "./traffic-schema.js";
export type { SupervisorSectionSettings } from "./supervisor-schema.js";

/** "7GB" / "32MiB" to bytes, part of the schema's public surface. */
export { parseByteSize } from "./byte-size.js";

/** Valid values of LoadBalancingStrategy; the first is the default. */
export const LOAD_BALANCING_STRATEGIES = [
  "WeightedRoundRobin",
  "RoundRobin",
  "LeastConnections",
  "Random",
  "PowerOfTwoChoices",
] as const;

/** One of LOAD_BALANCING_STRATEGIES. */
export type LoadBalancingStrategy = (typeof LOAD_BALANCING_STRATEGIES)[number];

/** Valid values of LogLevel (pino's levels). */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/** Valid values of LogFormat. */
export const LOG_FORMATS = ["json", "pretty"] as const;

/** [GPU_LoadBalancing] — the seed's keys, camelCased. */
export interface LoadBalancingSettings {
  enableGpuLoadBalancing: boolean;
  loadBalancingStrategy: string;
  healthCheckIntervalSeconds: number;
  healthCheckTimeoutSeconds: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
  enableBatchProcessing: boolean;
  maxBatchSize: number;
  batchWindowMs: number;
  enableKvCacheSharing: boolean;
  maxCacheMemoryPercent: number;
  enableCircuitBreaker: boolean;
  circuitBreakerThreshold: number;
  circuitBreakerResetSeconds: number;
}

/** [Gateway] — our own keys. */
export interface GatewaySettings {
  listenHost: string;
  listenPort: number;
  adminKey: string | undefined;
  maxQueueSize: number;
  queueTimeoutSeconds: number;
  maxRequestBodyBytes: number;
  requestTimeoutSeconds: number;
  firstTokenTimeoutSeconds: number;
  /** StallTimeoutSeconds, default 30: longest silence between two tokens before the instance counts as stalled. */
  stallTimeoutSeconds: number;
  connectTimeoutSeconds: number;
  inventoryRefreshSeconds: number;
  maxAttempts: number;
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
  logFormat: "json" | "pretty";
  /** EnableRequestCoalescing: identical deterministic requests in flight share one upstream call. */
  enableRequestCoalescing: boolean;
  /** MaxMergedEmbedInputs: most inputs in one merged upstream embedding call. */
  maxMergedEmbedInputs: number;
}

/** One entry of the YAML gpu_instances list. */
export interface InstanceConfig {
  /** `gpu${gpuId}-${port}` unless the entry gives an explicit `id`; unique in the fleet. */
  id: string;
  /** CUDA device index; -1 for an instance that runs on the CPU. */
  gpuId: number;
  /** The GPU's name as people know it, e.g. "RTX 3060 Ti"; defaults to "GPU <id>" or "CPU". */
  name: string;
  /** TCP port the Ollama instance listens on. */
  port: number;
  /** Base URL without trailing slash; `http://127.0.0.1:${port}` unless the entry gives `url`. */
  url: string;
  /** memory_limit in bytes (GB = 10^9, GiB = 2^30), if given. */
  memoryLimitBytes: number | undefined;
  /** Models this instance is meant to serve. */
  models: string[];
  /** Requests this instance may run at once, if limited. */
  maxConcurrentRequests: number | undefined;
}

/** Everything the gateway is configured with, after defaults, files, environment and flags. */
export interface FleetConfig {
  loadBalancing: LoadBalancingSettings;
  gateway: GatewaySettings;
  /** [Provisioning]: instances per GPU, ports, models to place; read by `plan` and the supervisor. */
  provisioning: ProvisioningSettings;
  /** [Observability]: tracing exporter and the GPU health monitor. */
  observability: ObservabilitySettings;
  /** [Traffic]: canary splits and CPU fallback. */
  traffic: TrafficSettings;
  /** [Supervisor]: start, liveness, restart and out-of-memory timers of provisioned instances. */
  supervisor: SupervisorSectionSettings;
  /** [] when no YAML file is given. */
  instances: InstanceConfig[];
  /** Absolute paths of the files that were read. */
  sources: { configFile?: string; instancesFile?: string };
}

/** Validation and defaults for [GPU_LoadBalancing]; each property also validates a single value. */
export const loadBalancingSchema = z.object({
  enableGpuLoadBalancing: booleanField().default(true),
  loadBalancingStrategy: choiceField(LOAD_BALANCING_STRATEGIES).default("WeightedRoundRobin"),
  healthCheckIntervalSeconds: secondsField().default(30),
  healthCheckTimeoutSeconds: secondsField().default(5),
  unhealthyThreshold: wholeNumber(1).default(3),
  healthyThreshold: wholeNumber(1).default(2),
  enableBatchProcessing: booleanField().default(true),
  maxBatchSize: wholeNumber(1).default(4),
  batchWindowMs: numberField({
    integer: true,
    min: 0,
    expected: "a whole number of milliseconds >= 0",
    unitInName: true,
  }).default(100),
  enableKvCacheSharing: booleanField().default(true),
  maxCacheMemoryPercent: numberField({
    integer: false,
    min: 0,
    max: 100,
    expected: "a number from 0 to 100",
    unitInName: true,
  }).default(30),
  enableCircuitBreaker: booleanField().default(true),
  circuitBreakerThreshold: wholeNumber(1).default(5),
  circuitBreakerResetSeconds: secondsField().default(60),
});

/** Validation and defaults for [Gateway]; each property also validates a single value. */
export const gatewaySchema = z.object({
  listenHost: hostField().default("127.0.0.1"),
  listenPort: wholeNumber(0, 65535).default(11400),
  adminKey: secretField(),
  maxQueueSize: wholeNumber(1).default(512),
  queueTimeoutSeconds: secondsField().default(120),
  maxRequestBodyBytes: byteSizeField().default(32 * 1024 * 1024),
  requestTimeoutSeconds: secondsField().default(600),
  firstTokenTimeoutSeconds: secondsField().default(120),
  stallTimeoutSeconds: secondsField().default(30),
  connectTimeoutSeconds: secondsField().default(5),
  inventoryRefreshSeconds: secondsField().default(10),
  maxAttempts: wholeNumber(1).default(3),
  logLevel: choiceField(LOG_LEVELS).default("info"),
  logFormat: choiceField(LOG_FORMATS).default("json"),
  enableRequestCoalescing: booleanField().default(true),
  maxMergedEmbedInputs: wholeNumber(1).default(256),
});

/**
 * Every INI section: its name in the file and its schema. To add a section, add one entry here and the
 * matching property to FleetConfig; the loader, env/flag names and docs check pick it up.
 */
export const SETTINGS_SECTIONS = {
  loadBalancing: { iniName: "GPU_LoadBalancing", schema: loadBalancingSchema },
  gateway: { iniName: "Gateway", schema: gatewaySchema },
  provisioning: { iniName: "Provisioning", schema: provisioningSchema },
  observability: { iniName: "Observability", schema: observabilitySchema },
  traffic: { iniName: "Traffic", schema: trafficSchema },
  supervisor: { iniName: "Supervisor", schema: supervisorSchema },
} as const;

/** The whole configuration: raw section values and raw YAML entries in, a FleetConfig out. */
export const fleetConfigSchema = z.object({
  ...sectionSchemas(),
  instances: instancesSchema,
  sources: z.object({ configFile: z.string().optional(), instancesFile: z.string().optional() }),
});

/** A settings group: a FleetConfig property that is filled from one INI section. */
export type SettingsSection = keyof typeof SETTINGS_SECTIONS;

/** The INI section name of each settings group. */
export const INI_SECTIONS = Object.fromEntries(
  Object.entries(SETTINGS_SECTIONS).map(([section, { iniName }]) => [section, iniName]),
) as { readonly [S in SettingsSection]: string };

/** Each section's schema keyed by its FleetConfig property (gateway's keeps `adminKey` present). */
function sectionSchemas(): { [S in SettingsSection]: z.ZodType } {
  const out = Object.fromEntries(
    Object.entries(SETTINGS_SECTIONS).map(([section, { schema }]) => [section, schema as z.ZodType]),
  ) as unknown as { [S in SettingsSection]: z.ZodType };
  out.gateway = gatewaySchema.transform((gateway) => ({ ...gateway, adminKey: gateway.adminKey }));
  return out;
}

/** An empty raw value object per section, for layering settings. */
export function emptySectionValues(): Record<SettingsSection, Record<string, unknown>> {
  return Object.fromEntries(Object.keys(SETTINGS_SECTIONS).map((s) => [s, {}])) as Record<
    SettingsSection,
    Record<string, unknown>
  >;
}

/** Compile-time proof that each section's schema produces the FleetConfig property it fills. */
type SectionOutputs = { [S in SettingsSection]: Required<z.output<(typeof SETTINGS_SECTIONS)[S]["schema"]>> };
type Assert<T extends true> = T;
/** Fails to compile when a section's schema and its FleetConfig property disagree. */
export type SectionsMatchConfig = Assert<
  SectionOutputs extends Pick<FleetConfig, SettingsSection> ? true : false
>;

/** Validates raw section values and YAML entries into a FleetConfig (throws zod's error). */
export function parseFleetConfig(raw: unknown): FleetConfig {
  return fleetConfigSchema.parse(raw) as FleetConfig;
}

/** A fresh FleetConfig holding only defaults (no instances, no sources). */
export function defaultConfig(): FleetConfig {
  return parseFleetConfig({ ...emptySectionValues(), instances: [], sources: {} });
}

/** Prefix of every environment variable the gateway reads. */
export const ENV_PREFIX = "OLLAMA_FLEET_";

/** Environment variables naming the files, used when --config / --instances are not given. */
export const FILE_ENV = {
  configFile: "OLLAMA_FLEET_CONFIG",
  instancesFile: "OLLAMA_FLEET_INSTANCES",
} as const;

/** The names one setting goes by in each place it can be set, and how to check one value for it. */
export interface SettingKey {
  section: SettingsSection;
  /** camelCase property, also the key in LoadConfigInput.flags. */
  field: string;
  /** PascalCase INI key. */
  iniKey: string;
  /** OLLAMA_FLEET_UPPER_SNAKE. */
  envName: string;
  /** --kebab-case. */
  flag: string;
  /** A valid value as text, used in "example:" hints. */
  example: string;
  /** Validates one raw value (text or typed) for this setting. */
  schema: z.ZodType;
}

/** Hints read better with a realistic value than with the default (or when there is no default). */
const EXAMPLE_OVERRIDES: Readonly<Record<string, string>> = {
  adminKey: "a-long-random-string",
  maxRequestBodyBytes: "32MiB",
  listenHost: "0.0.0.0",
  systemMemoryReserveBytes: "4GiB",
  gpuMemoryReserveBytes: "1GiB",
  modelsDir: "/var/lib/ollama/models",
  plannedModels: "llama3.2:3b=3, qwen2.5:7b=1",
  canary: "chat => llama3.1:8b 90%, llama3.2:3b 10%",
  cpuFallbackMaxModelBytes: "4GB",
};

/** Every setting of both INI sections, in declaration order. */
export function settingKeys(): SettingKey[] {
  const defaults = defaultConfig();
  const sections = Object.keys(SETTINGS_SECTIONS) as SettingsSection[];
  return sections.flatMap((section) =>
    Object.entries(SETTINGS_SECTIONS[section].schema.shape).map(([field, schema]): SettingKey => {
      const values = defaults[section];
      const words = field.replace(/([a-z0-9])([A-Z])/g, "$1_$2");
      return {
        section,
        field,
        iniKey: field.charAt(0).toUpperCase() + field.slice(1),
        envName: ENV_PREFIX + words.toUpperCase(),
        flag: `--${words.toLowerCase().replace(/_/g, "-")}`,
        example: EXAMPLE_OVERRIDES[field] ?? String(Reflect.get(values, field)),
        schema,
      };
    }),
  );
}
