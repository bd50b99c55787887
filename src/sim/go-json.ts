/**
 * Decodes a request body the way Ollama's gin handlers do (json.Decoder into a Go struct), so the
 * emulator answers bad JSON with Go's exact error text: syntax errors from encoding/json's scanner,
 * "json: cannot unmarshal ... into Go struct field ..." for wrong types, case-insensitive field
 * names, unknown fields ignored, and anything after the first value ignored.
 */

/** A Go type as far as decoding needs it. */
export type GoType =
  | { k: "string" }
  | { k: "bool" }
  | { k: "int" }
  | { k: "float"; bits: 32 | 64 }
  | { k: "any" }
  | { k: "slice"; elem: GoType; name: string }
  | { k: "map"; name: string }
  | { k: "struct"; name: string; pkg: string; fields: Record<string, GoType> }
  | { k: "custom"; name: string; check: (v: unknown) => string | null };

/** Result of decoding: the value with struct keys canonicalized, or Go's error text. */
export type DecodeResult =
  { ok: true; value: Record<string, unknown> } | { ok: false; eof: boolean; error: string };

class ScanError extends Error {}

const WS = new Set([" ", "\t", "\n", "\r"]);

/** Go's quoteChar from encoding/json's scanner. */
function quoteChar(s: string, i: number): string {
  const ch = s[i]!;
  const code = ch.charCodeAt(0);
  if (ch === "'") return "'\\''";
  if (ch === '"') return "'\"'";
  const named: Record<string, string> = {
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\b": "\\b",
    "\f": "\\f",
    "\v": "\\v",
    "\x07": "\\a",
    "\\": "\\\\",
  };
  if (named[ch]) return `'${named[ch]}'`;
  if (code < 0x20 || code === 0x7f) return `'\\x${code.toString(16).padStart(2, "0")}'`;
  if (code < 0x80) return `'${ch}'`;
  // The scanner reports the first UTF-8 byte, which Go then prints as that Latin-1 rune.
  const byte = Buffer.from(String.fromCodePoint(s.codePointAt(i)!))[0]!;
  return byte <= 0xa0 || byte === 0xad ? `'\\u00${byte.toString(16)}'` : `'${String.fromCharCode(byte)}'`;
}

function fail(s: string, i: number, context: string): never {
  if (i >= s.length) throw new ScanError("unexpected EOF");
  throw new ScanError(`invalid character ${quoteChar(s, i)} ${context}`);
}

function skipWs(s: string, i: number): number {
  while (i < s.length && WS.has(s[i]!)) i++;
  return i;
}

/** Scans one JSON value from `i` with Go's state machine; returns the index after it. */
function scanValue(s: string, i: number): number {
  const c = s[i];
  if (c === undefined) throw new ScanError("unexpected EOF");
  if (c === "{") return scanObject(s, i + 1);
  if (c === "[") return scanArray(s, i + 1);
  if (c === '"') return scanString(s, i + 1);
  if (c === "-" || (c >= "0" && c <= "9")) return scanNumber(s, i);
  if (c === "t") return scanLiteral(s, i, "true");
  if (c === "f") return scanLiteral(s, i, "false");
  if (c === "n") return scanLiteral(s, i, "null");
  return fail(s, i, "looking for beginning of value");
}

function scanObject(s: string, i: number): number {
  i = skipWs(s, i);
  if (s[i] === "}") return i + 1;
  for (;;) {
    if (s[i] !== '"') fail(s, i, "looking for beginning of object key string");
    i = skipWs(s, scanString(s, i + 1));
    if (s[i] !== ":") fail(s, i, "after object key");
    i = skipWs(s, scanValue(s, skipWs(s, i + 1)));
    if (s[i] === "}") return i + 1;
    if (s[i] !== ",") fail(s, i, "after object key:value pair");
    i = skipWs(s, i + 1);
  }
}

function scanArray(s: string, i: number): number {
  i = skipWs(s, i);
  if (s[i] === "]") return i + 1;
  for (;;) {
    i = skipWs(s, scanValue(s, i));
    if (s[i] === "]") return i + 1;
    if (s[i] !== ",") fail(s, i, "after array element");
    i = skipWs(s, i + 1);
  }
}

function scanString(s: string, i: number): number {
  for (;;) {
    const c = s[i];
    if (c === undefined) throw new ScanError("unexpected EOF");
    if (c === '"') return i + 1;
    if (c === "\\") {
      const e = s[i + 1];
      if (e === undefined) throw new ScanError("unexpected EOF");
      if (e === "u") {
        for (let k = 2; k < 6; k++) {
          if (!/[0-9a-fA-F]/.test(s[i + k] ?? "")) fail(s, i + k, "in \\u hexadecimal character escape");
        }
        i += 6;
        continue;
      }
      if (!'"\\/bfnrt'.includes(e)) fail(s, i + 1, "in string escape code");
      i += 2;
      continue;
    }
    if (c.charCodeAt(0) < 0x20) fail(s, i, "in string literal");
    i++;
  }
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

function scanNumber(s: string, i: number): number {
  if (s[i] === "-") {
    i++;
    if (!isDigit(s[i])) fail(s, i, "in numeric literal");
  }
  if (s[i] === "0") i++;
  else while (isDigit(s[i])) i++;
  if (s[i] === ".") {
    i++;
    if (!isDigit(s[i])) fail(s, i, "after decimal point in numeric literal");
    while (isDigit(s[i])) i++;
  }
  if (s[i] === "e" || s[i] === "E") {
    i++;
    if (s[i] === "+" || s[i] === "-") i++;
    if (!isDigit(s[i])) fail(s, i, "in exponent of numeric literal");
    while (isDigit(s[i])) i++;
  }
  return i;
}

function scanLiteral(s: string, i: number, word: string): number {
  for (let k = 1; k < word.length; k++) {
    if (s[i + k] !== word[k]) fail(s, i + k, `in literal ${word} (expecting '${word[k]}')`);
  }
  return i + word.length;
}

function kindOf(v: unknown): string {
  if (typeof v === "string") return "string";
  if (typeof v === "number") return "number";
  if (typeof v === "boolean") return "bool";
  return Array.isArray(v) ? "array" : "object";
}

/** Go's reflect.Type.String() of a type. */
export function goTypeName(t: GoType): string {
  switch (t.k) {
    case "float":
      return `float${t.bits}`;
    case "any":
      return "interface {}";
    case "struct":
      return `${t.pkg}.${t.name}`;
    case "slice":
    case "map":
    case "custom":
      return t.name;
    default:
      return t.k;
  }
}

interface Ctx {
  struct: string | null;
  path: string[];
}

class TypeError_ extends Error {}

function typeError(kind: string, t: GoType, ctx: Ctx): TypeError_ {
  const into = ctx.struct !== null ? `Go struct field ${ctx.struct}.${ctx.path.join(".")}` : "Go value";
  return new TypeError_(`json: cannot unmarshal ${kind} into ${into} of type ${goTypeName(t)}`);
}

/** Checks a parsed value against a Go type; returns the canonicalized value or throws the first error. */
function convert(v: unknown, t: GoType, ctx: Ctx): unknown {
  if (v === null) return undefined;
  switch (t.k) {
    case "any":
      return v;
    case "string":
      if (typeof v !== "string") throw typeError(kindOf(v), t, ctx);
      return v;
    case "bool":
      if (typeof v !== "boolean") throw typeError(kindOf(v), t, ctx);
      return v;
    case "int":
      if (typeof v !== "number") throw typeError(kindOf(v), t, ctx);
      if (!Number.isInteger(v) || Math.abs(v) > Number.MAX_SAFE_INTEGER)
        throw typeError(`number ${v}`, t, ctx);
      return v;
    case "float":
      if (typeof v !== "number") throw typeError(kindOf(v), t, ctx);
      return v;
    case "custom": {
      const err = t.check(v);
      if (err !== null) throw new TypeError_(err);
      return v;
    }
    case "slice":
      if (!Array.isArray(v)) throw typeError(kindOf(v), t, ctx);
      return v.map((e) => convert(e, t.elem, ctx));
    case "map":
      if (typeof v !== "object" || Array.isArray(v)) throw typeError(kindOf(v), t, ctx);
      return v;
    case "struct": {
      if (typeof v !== "object" || Array.isArray(v)) throw typeError(kindOf(v), t, ctx);
      const out: Record<string, unknown> = {};
      const names = Object.keys(t.fields);
      for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
        const name = names.includes(key) ? key : names.find((n) => n.toLowerCase() === key.toLowerCase());
        if (name === undefined) continue;
        const converted = convert(value, t.fields[name]!, { struct: t.name, path: [...ctx.path, name] });
        if (converted === undefined) delete out[name];
        else out[name] = converted;
      }
      return out;
    }
  }
}

/** Decodes `body` into the Go struct type `t` like gin's ShouldBindJSON. */
export function goDecode(body: string, t: GoType & { k: "struct" }): DecodeResult {
  const start = skipWs(body, 0);
  if (start >= body.length) return { ok: false, eof: true, error: "EOF" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    try {
      const end = scanValue(body, start);
      parsed = JSON.parse(body.slice(start, end));
    } catch (err) {
      return { ok: false, eof: false, error: err instanceof ScanError ? err.message : "unexpected EOF" };
    }
  }
  try {
    const value = convert(parsed, t, { struct: null, path: [] });
    return { ok: true, value: (value as Record<string, unknown> | undefined) ?? {} };
  } catch (err) {
    if (err instanceof TypeError_) return { ok: false, eof: false, error: err.message };
    throw err;
  }
}
