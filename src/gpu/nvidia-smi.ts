/** nvidia-smi's CSV query output, parsed (pure), and the query we run when NVML cannot be loaded. */
import { parseComputeCapability } from "./capability-db.js";
import { blankReading, type RawGpuReading } from "./gpu-info.js";

const MIB = 1024 * 1024;

/** The fields we query, in order; compute_cap needs driver ≥ 510, so there is a fallback list. */
export const NVIDIA_SMI_FIELDS = [
  "index",
  "uuid",
  "name",
  "pci.bus_id",
  "memory.total",
  "memory.free",
  "memory.used",
  "compute_cap",
  "utilization.gpu",
  "temperature.gpu",
  "power.draw",
  "driver_version",
] as const;

/** Arguments for nvidia-smi; withComputeCap=false for drivers that reject the compute_cap field. */
export function nvidiaSmiArgs(withComputeCap = true): string[] {
  const fields = NVIDIA_SMI_FIELDS.filter((f) => withComputeCap || f !== "compute_cap");
  return [`--query-gpu=${fields.join(",")}`, "--format=csv,noheader,nounits"];
}

/** True when nvidia-smi refused the query because this driver does not know compute_cap. */
export function rejectedComputeCap(output: string): boolean {
  return /"?compute_cap"? is not a valid field/i.test(output);
}

/** Rows read, and lines that were not rows (per-GPU failures nvidia-smi prints among them). */
export interface NvidiaSmiParse {
  /** One reading per GPU line. */
  readings: RawGpuReading[];
  /** Lines that are not GPU rows, e.g. "Unable to determine the device handle for GPU…: GPU is lost". */
  problems: string[];
}

// nvidia-smi's placeholders for "no value": absent sensors, MIG mode, permissions, a sick GPU.
const PLACEHOLDER =
  /^\[?(N\/A|Not Supported|Unknown Error|GPU requires reset|Insufficient Permissions|GPU is lost)\]?$/i;
const ERROR_PLACEHOLDER = /unknown error|requires reset|gpu is lost/i;

/** Parses `--format=csv,noheader,nounits` output of the given field list (default: NVIDIA_SMI_FIELDS). */
export function parseNvidiaSmiCsv(
  stdout: string,
  fields: readonly string[] = NVIDIA_SMI_FIELDS,
): NvidiaSmiParse {
  const readings: RawGpuReading[] = [];
  const problems: string[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const cells = line.split(",").map((c) => c.trim());
    const index = Number(cells[0]);
    if (cells.length !== fields.length || !Number.isInteger(index)) {
      problems.push(line.trim());
      continue;
    }
    const cell = (field: string): string | null => {
      const value = cells[fields.indexOf(field)];
      if (value === undefined || value === "" || PLACEHOLDER.test(value)) return null;
      return value;
    };
    const reading = blankReading(index, cell("name") ?? `NVIDIA GPU ${index}`, "nvidia", "nvidia-smi");
    for (const [i, field] of fields.entries()) {
      const value = cells[i] ?? "";
      if (ERROR_PLACEHOLDER.test(value)) reading.errors.push(`${field}: ${value.replace(/^\[|\]$/g, "")}`);
    }
    const cc = cell("compute_cap");
    readings.push({
      ...reading,
      uuid: cell("uuid"),
      pciBusId: cell("pci.bus_id"),
      memoryTotalBytes: mib(cell("memory.total")),
      memoryFreeBytes: mib(cell("memory.free")),
      memoryUsedBytes: mib(cell("memory.used")),
      computeCapability: cc === null ? null : (parseComputeCapability(cc) ?? null),
      utilizationPercent: num(cell("utilization.gpu")),
      temperatureC: num(cell("temperature.gpu")),
      powerDrawWatts: num(cell("power.draw")),
      driverVersion: cell("driver_version"),
    });
  }
  return { readings, problems };
}

/** nvidia-smi's own CUDA version line ("CUDA Version: 12.4") from its default output, or null. */
export function parseCudaVersionBanner(text: string): string | null {
  return /CUDA Version:\s*([\d.]+)/.exec(text)?.[1] ?? null;
}

/** A number, or null for text that is not one. */
function num(text: string | null): number | null {
  if (text === null) return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

/** MiB (nounits) to bytes. */
function mib(text: string | null): number | null {
  const n = num(text);
  return n === null ? null : Math.round(n * MIB);
}
