/**
 * Splits the answer of a merged `/api/embed` call back into one answer per member, in the member's
 * own dialect. Vectors are copied as the exact bytes Ollama sent (never re-printed), so a merged
 * member's vectors equal an unmerged call's byte for byte.
 *
 * Counts and durations: Ollama reports only the call's total `prompt_eval_count`, so a member's share
 * is estimated in proportion to the UTF-8 size of its inputs (+1 per input), rounded so that the shares
 * add up; an input sent once for several members counts in full for each of them. `load_duration` is
 * the call's; `total_duration` is the call's plus the time the member waited to be dispatched.
 */
import type { EmbedFormat } from "./embed-merge-plan.js";

/** What the merged call answered, read from its body. */
export interface MergedAnswer {
  /** Each vector's JSON text, as sent. */
  vectors: string[];
  totalDurationNs: number;
  loadDurationNs: number;
  promptEvalCount: number;
}

/** Reads a 200 answer of `/api/embed`; undefined when it is not one (then the members go alone). */
export function readMergedAnswer(body: string, expectedVectors: number): MergedAnswer | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return undefined;
  const obj = parsed as Record<string, unknown>;
  if (!Array.isArray(obj.embeddings) || obj.embeddings.length !== expectedVectors) return undefined;
  const vectors = rawArrayElements(body, "embeddings");
  if (vectors?.length !== expectedVectors) return undefined;
  return {
    vectors,
    totalDurationNs: wholeNumber(obj.total_duration),
    loadDurationNs: wholeNumber(obj.load_duration),
    promptEvalCount: wholeNumber(obj.prompt_eval_count),
  };
}

function wholeNumber(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.round(v) : 0;
}

/**
 * Estimated prompt tokens per member: the call's count spread over the distinct inputs by size, each
 * member summing its own inputs, rounded by largest remainder.
 */
export function splitPromptTokens(
  total: number,
  uniqueInputs: readonly string[],
  slots: readonly (readonly number[])[],
): number[] {
  const weights = uniqueInputs.map((t) => Buffer.byteLength(t) + 1);
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = slots.map((s) => s.reduce((acc, i) => acc + (total * (weights[i] ?? 0)) / (sum || 1), 0));
  const floors = exact.map(Math.floor);
  let left = Math.round(exact.reduce((a, b) => a + b, 0)) - floors.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => ({ i, frac: e - Math.floor(e) })).sort((a, b) => b.frac - a.frac);
  for (const { i } of order) {
    if (left <= 0) break;
    floors[i] = (floors[i] ?? 0) + 1;
    left--;
  }
  return floors;
}

/** One member's part of the merged answer. */
export interface MemberShare {
  format: EmbedFormat;
  model: string;
  /** Raw JSON text of each of the member's vectors, in its input order. */
  vectors: string[];
  promptEvalCount: number;
  totalDurationNs: number;
  loadDurationNs: number;
}

/** The member's answer as Ollama would have sent it for its own request. */
export function renderShare(share: MemberShare): { contentType: string; body: string } {
  const model = goString(share.model);
  if (share.format === "ollama") {
    // api.EmbedResponse: durations and count are omitempty.
    const parts = [`"model":${model}`, `"embeddings":[${share.vectors.join(",")}]`];
    if (share.totalDurationNs > 0) parts.push(`"total_duration":${share.totalDurationNs}`);
    if (share.loadDurationNs > 0) parts.push(`"load_duration":${share.loadDurationNs}`);
    if (share.promptEvalCount > 0) parts.push(`"prompt_eval_count":${share.promptEvalCount}`);
    return { contentType: "application/json; charset=utf-8", body: `{${parts.join(",")}}` };
  }
  // openai.ToEmbeddingList, written by json.Encoder (hence the newline).
  const data = share.vectors.map((raw, index) => {
    const embedding = share.format === "openai_base64" ? `"${float32Base64(raw)}"` : raw;
    return `{"object":"embedding","embedding":${embedding},"index":${index}}`;
  });
  const n = share.promptEvalCount;
  const body = `{"object":"list","data":[${data.join(",")}],"model":${model},"usage":{"prompt_tokens":${n},"total_tokens":${n}}}\n`;
  return { contentType: "application/json", body };
}

/** openai.floatsToBase64: the float32 values little-endian, standard base64. */
export function float32Base64(rawVector: string): string {
  const values = JSON.parse(rawVector) as number[];
  const buf = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  return buf.toString("base64");
}

/** A JSON string as Go's encoding/json writes it (HTML-safe escapes). */
export function goString(s: string): string {
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * The raw JSON text of each element of the array under `key` in the top-level object of `text`
 * (already known to be valid JSON), or undefined when there is no such array.
 */
export function rawArrayElements(text: string, key: string): string[] | undefined {
  let i = skipWs(text, 0);
  if (text[i] !== "{") return undefined;
  i = skipWs(text, i + 1);
  while (i < text.length && text[i] !== "}") {
    const keyEnd = skipString(text, i);
    const name = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, skipWs(text, keyEnd) + 1); // past the colon
    if (name === key) {
      if (text[i] !== "[") return undefined;
      const out: string[] = [];
      i = skipWs(text, i + 1);
      while (text[i] !== "]") {
        const end = skipValue(text, i);
        out.push(text.slice(i, end));
        i = skipWs(text, end);
        if (text[i] === ",") i = skipWs(text, i + 1);
      }
      return out;
    }
    i = skipWs(text, skipValue(text, i));
    if (text[i] === ",") i = skipWs(text, i + 1);
  }
  return undefined;
}

function skipWs(s: string, i: number): number {
  while (i < s.length && (s[i] === " " || s[i] === "\n" || s[i] === "\r" || s[i] === "\t")) i++;
  return i;
}

function skipString(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === "\\") j++;
    else if (s[j] === '"') return j + 1;
  }
  return s.length;
}

function skipValue(s: string, i: number): number {
  const c = s[i];
  if (c === '"') return skipString(s, i);
  if (c === "{" || c === "[") {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const d = s[j];
      if (d === '"') j = skipString(s, j) - 1;
      else if (d === "{" || d === "[") depth++;
      else if (d === "}" || d === "]") {
        if (--depth === 0) return j + 1;
      }
    }
    return s.length;
  }
  let j = i;
  while (j < s.length && !",}] \n\r\t".includes(s[j] ?? "")) j++;
  return j;
}
