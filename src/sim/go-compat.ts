/** Small pieces of Go behaviour Ollama's answers show: durations, timestamps and JSON encoding. */

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.ParseDuration, in nanoseconds; throws Go's error text. */
export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  let s = text;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw new Error(`time: invalid duration ${quoted}`);
  let total = 0;
  while (s !== "") {
    const num = /^(\d*)(\.(\d*))?/.exec(s)!;
    if (num[0] === "" || num[0] === ".") throw new Error(`time: invalid duration ${quoted}`);
    s = s.slice(num[0].length);
    const unit = /^[^\d.]*/.exec(s)![0];
    if (unit === "") throw new Error(`time: missing unit in duration ${quoted}`);
    const scale = UNIT_NS[unit];
    if (scale === undefined)
      throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    s = s.slice(unit.length);
    total += Number(num[0]) * scale;
  }
  return sign * total;
}

/** Go's time.Duration(math.MaxInt64) in milliseconds: what Ollama stores for "keep forever". */
export const GO_MAX_DURATION_MS = 9_223_372_036_854.775;

/**
 * api.Duration.UnmarshalJSON: a number is seconds, a string a Go duration; negative means forever.
 * Returns nanoseconds (Infinity for forever) or Go's error text.
 */
export function decodeKeepAlive(v: unknown): { ns: number } | { error: string } {
  if (typeof v === "number") return { ns: v < 0 ? Infinity : v * 1e9 };
  if (typeof v === "string") {
    try {
      const ns = parseGoDuration(v);
      return { ns: ns < 0 ? Infinity : ns };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }
  const goType =
    typeof v === "boolean" ? "bool" : Array.isArray(v) ? "[]interface {}" : "map[string]interface {}";
  return { error: `Unsupported type: '${goType}'` };
}

/** A keep-alive setting (OLLAMA_KEEP_ALIVE) as envconfig reads it: integer seconds or a Go duration. */
export function parseKeepAliveSetting(text: string): number | null {
  if (/^-?\d+$/.test(text)) {
    const s = Number(text);
    return s < 0 ? Infinity : s * 1e9;
  }
  try {
    const ns = parseGoDuration(text);
    return ns < 0 ? Infinity : ns;
  } catch {
    return null;
  }
}

/** A time as Go's RFC3339Nano JSON encoding writes it (trailing zeros of the fraction dropped). */
export function goTime(ms: number): string {
  const iso = new Date(Math.min(ms, 8.64e15)).toISOString();
  return iso.replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac ? `.${frac}Z` : "Z"));
}

const HTML_UNSAFE = /[<>&\u2028\u2029]/;

/** JSON text as Go's json.Marshal writes it: <, >, & and line separators escaped. */
export function goJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (!HTML_UNSAFE.test(text)) return text;
  return text.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
