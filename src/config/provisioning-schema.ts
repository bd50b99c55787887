// [Provisioning]: how `plan` sizes instances per GPU and what the supervisor starts them with.
import { z } from "zod";
import { normalizeModelName } from "../util/model-name.js";
import { parseByteSize } from "./byte-size.js";
import { booleanField, byteSizeField, explain, textField, wholeNumber } from "./fields.js";

/** Precisions a planned model may require of the GPU it runs on. */
export const MODEL_PRECISIONS = ["fp16", "bf16", "fp8"] as const;

/** One of MODEL_PRECISIONS. */
export type ModelPrecision = (typeof MODEL_PRECISIONS)[number];

/** One entry of PlannedModels: a model the plan must place, with its expected demand. */
export interface PlannedModelSetting {
  /** Model name, normalised as Ollama does: lower case, ":latest" added when no tag is given. */
  name: string;
  /** Relative demand (popularity); larger means more requests. Default 1. */
  weight: number;
  /** Resident size in bytes when written as `name@4.7GB`; else looked up when planning. */
  sizeBytes: number | undefined;
  /** Precision the GPU must support, written as `+fp16` / `+bf16` / `+fp8`. */
  precision: ModelPrecision | undefined;
}

/** [Provisioning] — how instances are planned per GPU and launched. */
export interface ProvisioningSettings {
  /** Port of the first planned instance; the next ones count up from it. */
  basePort: number;
  /** System memory kept free for the OS and the gateway (a CPU instance gets the rest). */
  systemMemoryReserveBytes: number;
  /** Device memory kept free on each GPU (driver, display, CUDA contexts). */
  gpuMemoryReserveBytes: number;
  /** GPU memory in GiB from which a GPU gets 2, 3, 4… instances; below the first: 1. */
  instanceThresholdsGib: number[];
  /** OLLAMA_NUM_PARALLEL per instance; 0: chosen from the instance's memory. */
  numParallel: number;
  /** OLLAMA_MAX_LOADED_MODELS per instance; 0: chosen from the models assigned to it. */
  maxLoadedModels: number;
  /** The Ollama binary to launch (a path, or a name found on PATH). */
  ollamaBin: string;
  /** Shared OLLAMA_MODELS directory; undefined: Ollama's default. */
  modelsDir: string | undefined;
  /** OLLAMA_KEEP_ALIVE given to every instance (a Go duration, or seconds; -1 keeps loaded). */
  keepAlive: string;
  /** May missing models be pulled from the registry when instances preload them. */
  allowPull: boolean;
  /** Models to place, with their demand; undefined: none configured. */
  plannedModels: PlannedModelSetting[] | undefined;
}

/** Go's time.ParseDuration units, which Ollama uses for keep-alive values. */
const GO_DURATION = /^[+-]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/;

/** A keep-alive as Ollama reads it: a Go duration ("30m", "1h30m") or a number of seconds ("-1", "0"). */
export function isKeepAlive(text: string): boolean {
  return GO_DURATION.test(text) || /^[+-]?\d+(\.\d+)?$/.test(text);
}

/** Optional text; empty means "not set" (how people clear a variable). */
function optionalTextField() {
  const error = (issue: { input?: unknown }) => explain(issue.input, "text");
  const emptyIsUnset = (value: unknown): unknown =>
    typeof value === "string" && value.trim() === ""
      ? undefined
      : typeof value === "string"
        ? value.trim()
        : value;
  return z.preprocess(emptyIsUnset, z.string({ error }).optional()).transform((value) => value);
}

/** Comma-separated GiB values, strictly increasing ("14, 20, 40"); empty: always one instance. */
function thresholdsField() {
  const expected =
    'increasing GiB values separated by commas, such as "14, 20, 40" (empty: one instance per GPU)';
  return z.unknown().transform((value, ctx): number[] => {
    const parts = Array.isArray(value)
      ? value.map(String)
      : typeof value === "string" || typeof value === "number"
        ? String(value).split(",")
        : undefined;
    const numbers = (parts ?? [])
      .map((p) => p.trim())
      .filter((p) => p !== "")
      .map((p) => (/^(\d+(\.\d*)?|\.\d+)$/.test(p) ? Number(p) : Number.NaN));
    const increasing = numbers.every((n, i) => n > 0 && (i === 0 || n > (numbers[i - 1] ?? 0)));
    if (parts === undefined || numbers.some(Number.isNaN) || !increasing) {
      ctx.issues.push({ code: "custom", message: explain(value, expected), input: value });
      return z.NEVER;
    }
    return numbers;
  });
}

/** Why one PlannedModels entry is unreadable, or the entry. */
export function parsePlannedModel(text: string): PlannedModelSetting | string {
  // name[@size][=weight][+precision], in any order after the name.
  const match = /^([^\s@=+]+)((?:\s*[@=+]\s*[^\s@=+]+)*)$/.exec(text.trim());
  if (!match) return `"${text.trim()}" is not name[@size][=weight][+precision]`;
  const [, rawName = "", rest = ""] = match;
  const entry: PlannedModelSetting = {
    name: normalizeModelName(rawName),
    weight: 1,
    sizeBytes: undefined,
    precision: undefined,
  };
  for (const [, marker, raw = ""] of rest.matchAll(/\s*([@=+])\s*([^\s@=+]+)/g)) {
    if (marker === "@") {
      const bytes = parseByteSize(raw);
      if (bytes === undefined || bytes <= 0) return `"${raw}" after @ is not a size such as 4.7GB`;
      entry.sizeBytes = bytes;
    } else if (marker === "=") {
      const weight = /^(\d+(\.\d*)?|\.\d+)$/.test(raw) ? Number(raw) : Number.NaN;
      if (!(weight > 0)) return `"${raw}" after = is not a demand weight > 0`;
      entry.weight = weight;
    } else {
      const precision = MODEL_PRECISIONS.find((p) => p === raw.toLowerCase());
      if (precision === undefined) return `"${raw}" after + is not one of ${MODEL_PRECISIONS.join(", ")}`;
      entry.precision = precision;
    }
  }
  return entry;
}

/** A comma list of name[@size][=weight][+precision]; empty means "not set". */
function plannedModelsField() {
  const expected = 'a comma list such as "llama3.2:3b=3, qwen2.5:7b@4.7GB=1"';
  const error = (issue: { input?: unknown }) => explain(issue.input, expected);
  const emptyIsUnset = (value: unknown): unknown =>
    typeof value === "string" && value.trim() === "" ? undefined : value;
  return z
    .preprocess(emptyIsUnset, z.string({ error }).optional())
    .transform((value, ctx): PlannedModelSetting[] | undefined => {
      if (value === undefined) return undefined;
      const entries: PlannedModelSetting[] = [];
      for (const part of value.split(",").filter((p) => p.trim() !== "")) {
        const entry = parsePlannedModel(part);
        const problem =
          typeof entry === "string"
            ? entry
            : entries.some((e) => e.name === entry.name)
              ? `${entry.name} is listed twice`
              : undefined;
        if (problem !== undefined || typeof entry === "string") {
          ctx.issues.push({
            code: "custom",
            message: `${problem ?? ""}; expected ${expected}`,
            input: value,
          });
          return z.NEVER;
        }
        entries.push(entry);
      }
      return entries;
    });
}

/** Validation and defaults for [Provisioning]; each property also validates a single value. */
export const provisioningSchema = z.object({
  basePort: wholeNumber(1, 65535).default(11500),
  systemMemoryReserveBytes: byteSizeField().default(4 * 1024 ** 3),
  gpuMemoryReserveBytes: byteSizeField().default(1024 ** 3),
  instanceThresholdsGib: thresholdsField().default([14, 20, 40]),
  numParallel: wholeNumber(0).default(0),
  maxLoadedModels: wholeNumber(0).default(0),
  ollamaBin: textField("a program name or path, such as ollama or /usr/local/bin/ollama").default("ollama"),
  modelsDir: optionalTextField(),
  keepAlive: textField(
    'a Go duration such as 30m or 1h, or seconds ("-1" keeps loaded)',
    isKeepAlive,
  ).default("30m"),
  allowPull: booleanField().default(false),
  plannedModels: plannedModelsField(),
});
