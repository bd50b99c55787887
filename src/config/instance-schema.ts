// Validation of one gpu_instances entry (the seed's snake_case keys) and of the list as a whole.
import { z } from "zod";
import { byteSizeField, explain, numberField, textField, urlField, wholeNumber } from "./fields.js";
import type { InstanceConfig } from "./schema.js";

/** Keys an entry of gpu_instances may have: the seed's six plus `url` and `id`. */
export const INSTANCE_KEYS = [
  "gpu_id",
  "name",
  "port",
  "memory_limit",
  "models",
  "max_concurrent_requests",
  "url",
  "id",
] as const;

/** A key of one gpu_instances entry. */
export type InstanceKey = (typeof INSTANCE_KEYS)[number];

/** A valid line for each key, shown with problems. */
export const INSTANCE_EXAMPLES: Readonly<Record<InstanceKey, string>> = {
  gpu_id: "gpu_id: 0",
  name: 'name: "RTX 3060 Ti"',
  port: "port: 11434",
  memory_limit: "memory_limit: 7GB",
  models: "models: [mistral:7b-instruct-q4_K_M]",
  max_concurrent_requests: "max_concurrent_requests: 2",
  url: "url: http://10.0.0.5:11434",
  id: "id: gpu0-main",
};

/** Loopback spellings all reach the same sockets, so they count as one host for port clashes. */
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "0.0.0.0", "[::]"]);

/** "host:port" an instance is reached at, with loopback spellings merged. */
export function endpointKey(url: string): string {
  const parsed = new URL(url);
  const host = LOOPBACK.has(parsed.hostname) ? "localhost" : parsed.hostname;
  return `${host}:${parsed.port || (parsed.protocol === "https:" ? "443" : "80")}`;
}

/** The raw entry as written; unknown keys are dropped here and warned about by the YAML loader. */
const rawInstanceSchema = z.object(
  {
    gpu_id: numberField({
      integer: true,
      min: -1,
      expected: "a whole number >= 0, or -1 for a CPU instance",
    }),
    name: textField('non-empty text such as "RTX 3060 Ti"').optional(),
    port: wholeNumber(1, 65535).optional(),
    memory_limit: byteSizeField().optional(),
    models: z
      .array(textField("a model name such as mistral:7b-instruct-q4_K_M"), {
        error: (issue) => explain(issue.input, "a list of model names such as [mistral:7b-instruct-q4_K_M]"),
      })
      .default([]),
    max_concurrent_requests: wholeNumber(1).optional(),
    url: urlField().optional(),
    id: textField('a name of letters, digits, ".", "_" and "-", such as gpu0-main', (text) =>
      /^[\w.-]+$/.test(text),
    ).optional(),
  },
  {
    error: (issue) => explain(issue.input, 'a mapping such as {gpu_id: 0, name: "RTX 3060 Ti", port: 11434}'),
  },
);

/** Said when an entry has neither a port nor a url to take one from. */
const MISSING_PORT = "missing: expected a whole number from 1 to 65535 (or a url)";

/** The whole instance spec in, an InstanceConfig out: url and port filled from each other, id derived. */
export const instanceSchema = rawInstanceSchema
  .refine((raw) => raw.port !== undefined || raw.url !== undefined, {
    path: ["port"],
    error: MISSING_PORT,
    // Runs even when other keys are invalid, so a missing port is reported with them, not after.
    when: (payload) => typeof payload.value === "object" && payload.value !== null,
  })
  .transform((raw, ctx): InstanceConfig => {
    let port = raw.port;
    let url = raw.url;
    if (url !== undefined) {
      const parsed = new URL(url);
      // `url: http://gpu-box` with `port: 11434` plainly means http://gpu-box:11434.
      if (parsed.port === "" && port !== undefined) {
        parsed.port = String(port);
        url = `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, "")}`;
      }
      const urlPort = Number(endpointKey(url).split(":").pop());
      if (port !== undefined && port !== urlPort) {
        const message = `does not match the port in url (${urlPort}); leave port out when url is set`;
        ctx.issues.push({ code: "custom", message, input: raw.port, path: ["port"] });
      }
      port = urlPort;
    }
    if (port === undefined) {
      ctx.issues.push({ code: "custom", message: MISSING_PORT, input: undefined, path: ["port"] });
      return z.NEVER;
    }
    return {
      id: raw.id ?? `gpu${raw.gpu_id}-${port}`,
      gpuId: raw.gpu_id,
      name: raw.name ?? (raw.gpu_id >= 0 ? `GPU ${raw.gpu_id}` : "CPU"),
      port,
      url: url ?? `http://127.0.0.1:${port}`,
      memoryLimitBytes: raw.memory_limit,
      models: raw.models,
      maxConcurrentRequests: raw.max_concurrent_requests,
    };
  });

/** A clash between two entries, reported on the later one. */
export interface DuplicateInstance {
  index: number;
  key: "id" | "port" | "url";
  message: string;
}

/**
 * Entries that reuse an id, or a host and port, of an earlier entry. `positions[i]` is the entry's
 * index in the file when `instances` holds only the valid entries; the result uses those indices.
 */
export function findDuplicateInstances(
  instances: readonly InstanceConfig[],
  positions: readonly number[] = instances.map((_, i) => i),
): DuplicateInstance[] {
  const byId = new Map<string, number>();
  const byEndpoint = new Map<string, number>();
  const found: DuplicateInstance[] = [];
  instances.forEach((instance, i) => {
    const index = positions[i] ?? i;
    const sameId = byId.get(instance.id);
    if (sameId === undefined) byId.set(instance.id, index);
    else {
      const message = `id "${instance.id}" is already used by gpu_instances[${sameId}]; give one of them another id`;
      found.push({ index, key: "id", message });
    }
    const endpoint = endpointKey(instance.url);
    const sameEndpoint = byEndpoint.get(endpoint);
    if (sameEndpoint === undefined) byEndpoint.set(endpoint, index);
    else {
      const key = instance.url === `http://127.0.0.1:${instance.port}` ? "port" : "url";
      const message = `${endpoint} is already used by gpu_instances[${sameEndpoint}]; each instance needs its own port`;
      found.push({ index, key, message });
    }
  });
  return found;
}

/** The gpu_instances list: valid entries, no shared ids, no shared host and port. */
export const instancesSchema = z
  .array(instanceSchema)
  .superRefine((instances, ctx) => {
    for (const clash of findDuplicateInstances(instances)) {
      ctx.addIssue({ code: "custom", message: clash.message, path: [clash.index, clash.key] });
    }
  })
  .default([]);
