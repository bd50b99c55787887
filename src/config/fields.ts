// Zod building blocks for single values that may arrive as text (INI, environment, flags) or typed (YAML).
import { isIP } from "node:net";
import { z } from "zod";
import { parseByteSize } from "./byte-size.js";
import { didYouMean } from "./suggest.js";

/** What a failed value looked like, as zod hands it to an error function. */
interface FailedValue {
  input?: unknown;
}

/** Turns "what was expected" into a message, with hints for the usual slips (empty value, a unit). */
export function explain(input: unknown, expected: string, unitHint = false): string {
  if (input === undefined || input === null) return `missing: expected ${expected}`;
  if (typeof input === "string") {
    const text = input.trim();
    if (text === "") return `empty: expected ${expected}`;
    if (unitHint && /^[+-]?(\d+(\.\d*)?|\.\d+)\s*[a-z%]+$/i.test(text)) {
      return `expected ${expected}, written without a unit`;
    }
  }
  return `expected ${expected}`;
}

/** Plain decimal text becomes a number; anything else ("5s", "0x10", "1e3") stays text and fails. */
function numberFromText(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const text = value.trim();
  return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text) ? Number(text) : value;
}

/** Limits for numberField; `expected` is the phrase used in messages, e.g. "a whole number >= 1". */
export interface NumberRule {
  integer: boolean;
  min: number;
  /** true: the value must be greater than `min`, not equal to it. */
  minExclusive?: boolean;
  max?: number;
  /** true: the value must be less than `max`, not equal to it. */
  maxExclusive?: boolean;
  expected: string;
  /** The key's name carries the unit (…Seconds, …Ms), so "5s" gets a pointed message. */
  unitInName?: boolean;
}

/** A number accepted as a JSON number or as strictly formatted decimal text. */
export function numberField(rule: NumberRule) {
  const error = (issue: FailedValue) => explain(issue.input, rule.expected, rule.unitInName);
  let schema = z.number({ error });
  if (rule.integer) schema = schema.int({ error });
  schema = rule.minExclusive ? schema.gt(rule.min, { error }) : schema.min(rule.min, { error });
  if (rule.max !== undefined)
    schema = rule.maxExclusive ? schema.lt(rule.max, { error }) : schema.max(rule.max, { error });
  return z.preprocess(numberFromText, schema);
}

/** A whole number of at least `min` (and at most `max`). */
export function wholeNumber(min: number, max?: number) {
  const expected = max === undefined ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`;
  return numberField({ integer: true, min, ...(max === undefined ? {} : { max }), expected });
}

/** A positive duration in seconds; fractions are allowed ("0.5"). */
export function secondsField() {
  return numberField({
    integer: false,
    min: 0,
    minExclusive: true,
    expected: "a number of seconds > 0",
    unitInName: true,
  });
}

/** Spellings accepted for booleans, compared case-insensitively. */
const TRUE_WORDS = new Set(["true", "yes", "1"]);
const FALSE_WORDS = new Set(["false", "no", "0"]);

/** A boolean written as true/false, yes/no or 1/0 in any case. */
export function booleanField() {
  const error = (issue: FailedValue) => explain(issue.input, "true or false (yes/no and 1/0 work too)");
  const fromText = (value: unknown): unknown => {
    const word =
      typeof value === "string" || typeof value === "number" ? String(value).trim().toLowerCase() : "";
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
    return value;
  };
  return z.preprocess(fromText, z.boolean({ error }));
}

/** Squashes case and separators so "round-robin" finds "RoundRobin". */
function squash(text: string): string {
  return text.toLowerCase().replace(/[-_\s]/g, "");
}

/** One of a fixed list of names, matched ignoring case and separators, returned in canonical spelling. */
export function choiceField<const T extends readonly [string, ...string[]]>(choices: T) {
  const error = (issue: FailedValue) =>
    explain(issue.input, `one of ${choices.join(", ")}`) + didYouMean(String(issue.input), choices);
  const canonical = (value: unknown): unknown =>
    typeof value === "string" ? (choices.find((c) => squash(c) === squash(value)) ?? value) : value;
  return z.preprocess(canonical, z.enum(choices, { error }));
}

/** A size in bytes: "32MiB", "7GB", "7.5GB" or a whole number of bytes (see parseByteSize). */
export function byteSizeField() {
  const expected = "a size such as 7GB, 7.5GB, 512MB, 7GiB or a whole number of bytes";
  const error = (issue: FailedValue) => explain(issue.input, expected);
  const toBytes = (value: unknown): unknown =>
    typeof value === "string" ? (parseByteSize(value) ?? value) : value;
  return z.preprocess(toBytes, z.number({ error }).int({ error }).min(1, { error }));
}

/** Trimmed, non-empty text, optionally checked further by `accept`. */
export function textField(expected: string, accept: (text: string) => boolean = () => true) {
  const error = (issue: FailedValue) => explain(issue.input, expected);
  const trim = (value: unknown): unknown => (typeof value === "string" ? value.trim() : value);
  return z.preprocess(trim, z.string({ error }).min(1, { error }).refine(accept, { error }));
}

/** Host names and IPv4 addresses; IPv6 goes through isIP because "0.0.0.0:11400" must not pass as one. */
function isListenHost(text: string): boolean {
  const bare = /^\[(.*)\]$/.exec(text)?.[1] ?? text;
  return bare.includes(":") ? isIP(bare.split("%")[0] ?? "") === 6 : /^[a-z0-9][a-z0-9.-]*$/i.test(bare);
}

/** A host name or IP address to listen on: no scheme, no port, no spaces. */
export function hostField() {
  const expected = "a host name or IP address without scheme or port, such as 127.0.0.1 or 0.0.0.0";
  // Brackets are how people write IPv6 next to a port; listen() wants the bare address.
  return textField(expected, isListenHost).transform((host) => host.replace(/^\[(.*)\]$/, "$1"));
}

/** Optional secret text; empty means "not set" because `KEY=` is how people clear variables. */
export function secretField() {
  const error = (issue: FailedValue) => explain(issue.input, "text");
  const emptyIsUnset = (value: unknown): unknown => {
    if (typeof value !== "string") return value;
    return value.trim() === "" ? undefined : value.trim();
  };
  // The transform makes the key required-but-maybe-undefined in the output type, matching the interfaces.
  return z.preprocess(emptyIsUnset, z.string({ error }).optional()).transform((value) => value);
}

/** An http(s) base URL, returned without a trailing slash so paths can be appended. */
export function urlField() {
  const expected =
    "an http:// or https:// URL without credentials, query or fragment, such as http://10.0.0.5:11434";
  const error = (issue: FailedValue) => explain(issue.input, expected);
  return z.string({ error }).transform((text, ctx) => {
    let url: URL | undefined;
    try {
      url = new URL(text.trim());
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.search !== "" || url.hash !== "" || url.username) {
      ctx.issues.push({ code: "custom", message: explain(text, expected), input: text });
      return z.NEVER;
    }
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
  });
}
