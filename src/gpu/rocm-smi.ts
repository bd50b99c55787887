/** rocm-smi's JSON output, parsed (pure), and the query we run. */
import { blankReading, type RawGpuReading } from "./gpu-info.js";

/** Arguments for rocm-smi: one JSON object keyed by "card0", "card1", … plus "system". */
export function rocmSmiArgs(): string[] {
  return [
    "--showproductname",
    "--showmeminfo",
    "vram",
    "--showuniqueid",
    "--showbus",
    "--showtemp",
    "--showuse",
    "--showpower",
    "--showdriverversion",
    "--json",
  ];
}

/** Readings per card, or why the output could not be read. */
export type AmdParse = { ok: true; readings: RawGpuReading[] } | { ok: false; error: string };

/**
 * Parses rocm-smi --json. Key names changed case between ROCm releases ("Card series" / "Card Series")
 * and power moved from "Average Graphics Package Power" to "Current Socket Graphics Package Power", so
 * keys are matched case-insensitively by pattern.
 */
export function parseRocmSmiJson(stdout: string): AmdParse {
  const parsed = parseJsonAfterNoise(stdout);
  if (parsed === undefined || typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { ok: false, error: "rocm-smi printed no JSON object" };
  }
  const root = parsed as Record<string, unknown>;
  const system = asRecord(root.system);
  const driver = system === undefined ? null : text(pick(system, /^driver version$/i));
  const readings: RawGpuReading[] = [];
  for (const [key, value] of Object.entries(root)) {
    const card = /^card(\d+)$/i.exec(key);
    const fields = asRecord(value);
    if (card === null || fields === undefined) continue;
    const index = Number(card[1]);
    const gfx = text(pick(fields, /^gfx version$/i));
    const name =
      text(pick(fields, /^card series$/i)) ??
      text(pick(fields, /^device name$/i)) ??
      `AMD GPU ${gfx ?? `card${index}`}`;
    const total = number(pick(fields, /^vram total memory \(b\)$/i));
    const used = number(pick(fields, /^vram total used memory \(b\)$/i));
    const uniqueId = text(pick(fields, /^unique id$/i));
    readings.push({
      ...blankReading(index, name, "amd", "rocm-smi"),
      uuid: amdUuid(uniqueId),
      pciBusId: text(pick(fields, /^pci bus$/i)),
      memoryTotalBytes: total,
      memoryUsedBytes: used,
      memoryFreeBytes: total !== null && used !== null ? Math.max(0, total - used) : null,
      gfxTarget: gfx,
      utilizationPercent: number(pick(fields, /^gpu use \(%\)$/i)),
      // Junction (hotspot) is what throttling follows; edge is all older boards report.
      temperatureC:
        number(pick(fields, /^temperature \(sensor junction\) \(c\)$/i)) ??
        number(pick(fields, /^temperature \(sensor edge\) \(c\)$/i)),
      powerDrawWatts: number(pick(fields, /graphics package power \(w\)$/i)),
      driverVersion: driver ?? text(pick(fields, /^driver version$/i)),
    });
  }
  readings.sort((a, b) => a.index - b.index);
  return { ok: true, readings };
}

/** "GPU-<16 hex digits>" from a unique id such as "0x6f1f0a2b3c4d5e6f", as ROCR_VISIBLE_DEVICES takes it. */
export function amdUuid(uniqueId: string | null): string | null {
  if (uniqueId === null) return null;
  const hex = uniqueId.trim().replace(/^0x/i, "").toLowerCase();
  if (!/^[0-9a-f]{1,16}$/.test(hex) || /^0+$/.test(hex)) return null;
  return `GPU-${hex.padStart(16, "0")}`;
}

/**
 * JSON that a tool printed after warnings (amd-smi prints permission hints before its JSON): parses from
 * the first line that starts a JSON value. undefined when there is none.
 */
export function parseJsonAfterNoise(stdout: string): unknown {
  const lines = stdout.split(/\r?\n/);
  const start = lines.findIndex((l) => /^\s*[[{]/.test(l));
  if (start < 0) return undefined;
  try {
    return JSON.parse(lines.slice(start).join("\n"));
  } catch {
    return undefined;
  }
}

/** The value of the first key matching a pattern. */
export function pick(fields: Record<string, unknown>, key: RegExp): unknown {
  const found = Object.keys(fields).find((k) => key.test(k));
  return found === undefined ? undefined : fields[found];
}

/** An object, or undefined. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** A string value, with the tools' "N/A" placeholders as null. */
export function text(value: unknown): string | null {
  if (typeof value === "number") return String(value);
  if (typeof value !== "string") return null;
  const t = value.trim();
  return t === "" || /^(n\/a|unknown|not supported)$/i.test(t) ? null : t;
}

/** A number from a number, a numeric string ("38.0"), or null. */
export function number(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  const t = text(value);
  if (t === null) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}
