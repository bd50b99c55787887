// [Traffic]: steering beyond balancing — canary splits of a model name, CPU fallback when GPUs are out, and
// session admission (holding what would evict a live conversation's KV cache).
import { z } from "zod";
import { normalizeModelName } from "../util/model-name.js";
import { booleanField, byteSizeField, explain, numberField, secondsField, textField } from "./fields.js";

/** One version of a canary split and its share of the traffic. */
export interface CanaryVersion {
  /** The model the requests of this share go to (normalised). */
  model: string;
  /** Relative weight (percent when they add up to 100). */
  weight: number;
}

/** A model name whose traffic is split between versions. */
export interface CanarySplit {
  /** The name clients ask for (normalised). */
  name: string;
  versions: CanaryVersion[];
}

/** [Traffic] — canary splits, CPU fallback and session admission. */
export interface TrafficSettings {
  /** Canary splits; undefined when none. */
  canary: CanarySplit[] | undefined;
  /** Request header whose value keeps a client on one canary version (sticky sessions). */
  sessionHeader: string;
  /** Let a CPU instance serve small models when every GPU instance for them is down or saturated. */
  enableCpuFallback: boolean;
  /** Largest model a CPU instance may serve in fallback, bytes. */
  cpuFallbackMaxModelBytes: number;
  /** GPU instances count as saturated from this share of their capacity in flight, percent. */
  cpuFallbackGpuLoadPercent: number;
  /** Hold a request that would evict a live conversation's KV cache (needs EnableKvCacheSharing). */
  sessionAdmission: boolean;
  /** Longest such a hold lasts, seconds (at most half of QueueTimeoutSeconds is used). */
  sessionHoldSeconds: number;
}

/** Why one split is unreadable, or the split: `name => a 90%, b 10%`. */
export function parseCanarySplit(text: string): CanarySplit | string {
  const [rawName, rawVersions, extra] = text.split("=>").map((p) => p.trim());
  if (!rawName || !rawVersions || extra !== undefined)
    return `"${text.trim()}" is not "name => a 90%, b 10%"`;
  const versions: CanaryVersion[] = [];
  for (const part of rawVersions.split(",").map((p) => p.trim())) {
    const m = /^(\S+)\s+(\d+(?:\.\d+)?)%?$/.exec(part);
    const weight = m ? Number(m[2]) : Number.NaN;
    if (!m || !(weight >= 0)) return `"${part}" is not "model weight%"`;
    versions.push({ model: normalizeModelName(m[1] as string), weight });
  }
  if (versions.length < 2) return `"${text.trim()}" names fewer than two versions`;
  if (!versions.some((v) => v.weight > 0)) return `"${text.trim()}" gives every version weight 0`;
  return { name: normalizeModelName(rawName), versions };
}

/** `a => x 90%, y 10%; b => …`; empty means none. */
function canaryField() {
  const expected = '"chat => llama3.1:8b 90%, llama3.2:3b 10%" (several splits separated by ;)';
  return z.unknown().transform((value, ctx): CanarySplit[] | undefined => {
    if (value === undefined || (typeof value === "string" && value.trim() === "")) return undefined;
    if (typeof value !== "string") {
      ctx.issues.push({ code: "custom", message: explain(value, expected), input: value });
      return z.NEVER;
    }
    const splits: CanarySplit[] = [];
    for (const part of value.split(";").filter((p) => p.trim() !== "")) {
      const split = parseCanarySplit(part);
      const problem =
        typeof split === "string"
          ? split
          : splits.some((s) => s.name === split.name)
            ? `${split.name} is split twice`
            : undefined;
      if (problem !== undefined || typeof split === "string") {
        ctx.issues.push({ code: "custom", message: `${problem ?? ""}; expected ${expected}`, input: value });
        return z.NEVER;
      }
      splits.push(split);
    }
    return splits;
  });
}

/** Validation and defaults for [Traffic]; each property also validates a single value. */
export const trafficSchema = z.object({
  canary: canaryField().optional(),
  sessionHeader: textField("an HTTP header name such as X-Session-Id", (t) =>
    /^[A-Za-z0-9-]+$/.test(t),
  ).default("X-Session-Id"),
  enableCpuFallback: booleanField().default(true),
  cpuFallbackMaxModelBytes: byteSizeField().default(4 * 1000 ** 3),
  cpuFallbackGpuLoadPercent: numberField({
    integer: false,
    min: 1,
    max: 100,
    expected: "a percentage from 1 to 100",
    unitInName: true,
  }).default(100),
  sessionAdmission: booleanField().default(true),
  sessionHoldSeconds: secondsField().default(60),
});
