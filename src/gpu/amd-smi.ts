/** amd-smi's JSON outputs (list, static, metric), parsed and merged per GPU (pure). */
import { blankReading, type RawGpuReading } from "./gpu-info.js";
import { amdUuid, asRecord, number, parseJsonAfterNoise, pick, text, type AmdParse } from "./rocm-smi.js";

/** The three amd-smi calls detection makes; only static is required. */
export function amdSmiCommands(): { list: string[]; static: string[]; metric: string[] } {
  return {
    list: ["list", "--json"],
    static: ["static", "--asic", "--bus", "--vram", "--driver", "--json"],
    metric: ["metric", "--usage", "--power", "--temperature", "--mem-usage", "--json"],
  };
}

/** Outputs of the three calls; list and metric may be missing (older amd-smi, no permission). */
export interface AmdSmiOutputs {
  /** stdout of `amd-smi static … --json`. */
  static: string;
  /** stdout of `amd-smi list --json`, if it ran. */
  list?: string;
  /** stdout of `amd-smi metric … --json`, if it ran. */
  metric?: string;
}

/**
 * Parses and merges amd-smi output by the "gpu" index. amd-smi ≥ 6.4 wraps the array in {"gpu_data": …}
 * and writes numbers as {"value", "unit"}; older releases print a bare array and plain values.
 */
export function parseAmdSmi(outputs: AmdSmiOutputs): AmdParse {
  const statics = gpuEntries(parseJsonAfterNoise(outputs.static));
  if (statics === undefined) return { ok: false, error: "amd-smi static printed no JSON GPU list" };
  const lists = gpuEntries(outputs.list === undefined ? undefined : parseJsonAfterNoise(outputs.list)) ?? [];
  const metrics =
    gpuEntries(outputs.metric === undefined ? undefined : parseJsonAfterNoise(outputs.metric)) ?? [];
  const byGpu = (entries: Record<string, unknown>[], gpu: number) =>
    entries.find((e) => number(e.gpu) === gpu);

  const readings: RawGpuReading[] = [];
  for (const [position, entry] of statics.entries()) {
    const index = number(entry.gpu) ?? position;
    const asic = asRecord(entry.asic) ?? {};
    const bus = asRecord(entry.bus) ?? {};
    const vram = asRecord(entry.vram) ?? {};
    const driver = asRecord(entry.driver) ?? {};
    const listed = byGpu(lists, index) ?? {};
    const metric = byGpu(metrics, index) ?? {};
    const usage = asRecord(metric.usage) ?? {};
    const power = asRecord(metric.power) ?? {};
    const temperature = asRecord(metric.temperature) ?? {};
    const memUsage = asRecord(metric.mem_usage) ?? {};

    const gfx = text(asic.target_graphics_version);
    const name = text(asic.market_name) ?? `AMD GPU ${gfx ?? index}`;
    const total = bytes(memUsage.total_vram) ?? bytes(pick(vram, /^(vram_)?size$/));
    const used = bytes(memUsage.used_vram);
    const free =
      bytes(memUsage.free_vram) ?? (total !== null && used !== null ? Math.max(0, total - used) : null);
    const listedUuid = text(listed.uuid);
    readings.push({
      ...blankReading(index, name, "amd", "amd-smi"),
      uuid: amdUuid(text(asic.asic_serial)) ?? (listedUuid === null ? null : `GPU-${listedUuid}`),
      pciBusId: text(bus.bdf) ?? text(listed.bdf),
      memoryTotalBytes: total,
      memoryUsedBytes: used,
      memoryFreeBytes: free,
      gfxTarget: gfx,
      utilizationPercent: quantity(usage.gfx_activity),
      temperatureC: quantity(temperature.hotspot) ?? quantity(temperature.edge),
      powerDrawWatts: quantity(power.socket_power) ?? quantity(power.average_socket_power),
      driverVersion: text(pick(driver, /^(driver_)?version$/)),
    });
  }
  readings.sort((a, b) => a.index - b.index);
  return { ok: true, readings };
}

/** The per-GPU objects of an amd-smi answer: a bare array, or the array under "gpu_data". */
function gpuEntries(parsed: unknown): Record<string, unknown>[] | undefined {
  const list = Array.isArray(parsed) ? parsed : asRecord(parsed)?.gpu_data;
  if (!Array.isArray(list)) return undefined;
  return list.map(asRecord).filter((e): e is Record<string, unknown> => e !== undefined);
}

/** A plain number, a numeric string, or the "value" of {"value", "unit"}. */
function quantity(value: unknown): number | null {
  const record = asRecord(value);
  return record === undefined ? number(value) : number(record.value);
}

// amd-smi writes "MB" for what are mebibytes (an MI300X's 192 GiB shows as 196592 MB).
const UNIT_BYTES: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** A memory size in bytes from {"value", "unit"}, "196592 MB", or a bare number in MB. */
function bytes(value: unknown): number | null {
  const record = asRecord(value);
  let amount: number | null;
  let unit: string;
  if (record !== undefined) {
    amount = number(record.value);
    unit = text(record.unit) ?? "MB";
  } else {
    const m = /^\s*([\d.]+)\s*([a-z]*)\s*$/i.exec(text(value) ?? "");
    amount = m === null ? null : Number(m[1]);
    unit = m?.[2] || "MB";
  }
  const factor = UNIT_BYTES[unit.toLowerCase()];
  return amount === null || factor === undefined ? null : Math.round(amount * factor);
}
