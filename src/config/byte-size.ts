// Byte sizes as people write them in config files ("7GB", "512MiB"), turned into whole bytes.

/**
 * Bytes per unit. KB/MB/GB/TB are decimal (1000-based) because that is what Ollama itself prints
 * for model and memory sizes; the binary units (KiB...) are there for anyone who means 1024.
 */
const BYTES_PER_UNIT: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** The units parseByteSize understands, for messages and docs. */
export const BYTE_SIZE_UNITS: readonly string[] = ["B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB"];

/**
 * Parses "7GB", "7.5GB", "512MB", "7GiB", "7 gb" or a plain number of bytes into whole bytes
 * (GB = 10^9, GiB = 2^30); returns undefined for anything else, including negative values.
 */
export function parseByteSize(text: string | number): number | undefined {
  if (typeof text === "number") return Number.isSafeInteger(text) && text >= 0 ? text : undefined;
  const match = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/i.exec(text.trim());
  if (!match) return undefined;
  const [, amount = "", unitText = ""] = match;
  const perUnit = BYTES_PER_UNIT[unitText === "" ? "b" : unitText.toLowerCase()];
  if (perUnit === undefined) return undefined;
  const bytes = Number(amount) * perUnit;
  // Fractions of a unit are fine ("7.5GB"); fractions of a single byte are not.
  const whole = perUnit === 1 ? bytes : Math.round(bytes);
  return Number.isSafeInteger(whole) ? whole : undefined;
}
