/**
 * The emulated model's text: a word-level tokenizer (one token per whitespace-led word), a chat
 * template, a deterministic answer generator and bag-of-words embeddings. The answer depends only on
 * the model, the rendered prompt up to the assistant turn, the seed and the temperature, so a request
 * that prefills part of an earlier answer (a last assistant message) gets the rest of that answer.
 */
import { mulberry32 } from "../util/prng.js";

/** 32-bit FNV-1a over a string, mixed into `h`. */
export function fnv(text: string, h = 0x811c9dc5): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Pieces of text, each a run of non-space characters with the whitespace before it. */
export function pieces(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/** Token id of one piece (positive 31-bit, as Go ints in `context`). */
export function tokenId(piece: string): number {
  return fnv(piece) & 0x7fffffff;
}

/** Token ids of a text. */
export function tokenize(text: string): number[] {
  return pieces(text).map(tokenId);
}

const BOS = tokenId("<|begin_of_text|>");
const HEADER_START = tokenId("<|start_header_id|>");
const HEADER_END = tokenId("<|end_header_id|>");
const EOT = tokenId("<|eot_id|>");

/** A chat message as the template sees it. */
export interface TemplateMessage {
  role: string;
  content: string;
  images?: number;
}

/** A rendered prompt: its tokens, the key the answer derives from, and how much of it is prefilled. */
export interface RenderedPrompt {
  tokens: number[];
  key: number;
  /** Tokens of a trailing assistant message the model continues. */
  prefilled: number;
}

function hashTokens(tokens: readonly number[], h = 0x9e3779b9): number {
  for (const t of tokens) h = Math.imul(h ^ t, 0x01000193) >>> 0;
  return h;
}

/**
 * Renders messages Llama-3 style. A last assistant message is left open, and the model continues
 * it (Ollama renders a prefill that way); otherwise an assistant header opens the answer.
 */
export function renderChat(messages: TemplateMessage[], preamble: number[] = [], extra = ""): RenderedPrompt {
  const tokens = [...preamble, BOS];
  if (extra) tokens.push(HEADER_START, tokenId("tools"), HEADER_END, ...tokenize(extra), EOT);
  const last = messages[messages.length - 1];
  const continuing = last?.role === "assistant";
  messages.forEach((m, i) => {
    tokens.push(HEADER_START, tokenId(m.role), HEADER_END);
    for (let k = 0; k < (m.images ?? 0); k++) tokens.push(tokenId(`<image ${k}>`));
    if (continuing && i === messages.length - 1) return;
    tokens.push(...tokenize(m.content), EOT);
  });
  if (!continuing) tokens.push(HEADER_START, tokenId("assistant"), HEADER_END);
  const key = hashTokens(tokens);
  const prefill = continuing ? tokenize(last.content) : [];
  tokens.push(...prefill);
  return { tokens, key, prefilled: prefill.length };
}

/** A raw prompt (generate with raw: true): no template, the model continues the text. */
export function renderRaw(prompt: string, preamble: number[] = []): RenderedPrompt {
  const tokens = [...preamble, ...tokenize(prompt)];
  return { tokens, key: hashTokens(tokens), prefilled: 0 };
}

/** Keeps a prompt within num_ctx like the runner: the first few tokens and the newest rest. */
export function truncatePrompt(tokens: number[], numCtx: number, keep = 4): number[] {
  if (tokens.length < numCtx) return tokens;
  const room = Math.max(1, numCtx - 1);
  const head = Math.min(keep, room - 1);
  return [...tokens.slice(0, head), ...tokens.slice(tokens.length - (room - head))];
}

const WORDS = (
  "the model answer data system memory token request server network value result process model layer " +
  "context prompt stream batch cache signal vector query response simple clear fast large small new " +
  "first second next final local remote quick steady careful useful common rare bright quiet green blue " +
  "light sky water river mountain city street garden window paper letter number pattern question idea " +
  "reason method example detail summary note step path point line shape color sound voice story music " +
  "time day night morning evening week year moment history future present change growth balance energy " +
  "power force motion speed distance weight height depth length area space place region border center " +
  "is are was can will may should would could makes takes gives finds keeps shows brings holds turns " +
  "runs moves builds reads writes learns knows seems helps starts ends uses needs and or but so because " +
  "while when where which that this these those with without within across between under over through " +
  "into onto from about around after before during each every many most some few more less very often"
).split(" ");

/** A small deterministic PRNG (mulberry32). */
export const rng = mulberry32;

/** What decides an answer. */
export interface GenerationInput {
  model: string;
  prompt: RenderedPrompt;
  seed: number;
  temperature: number;
  /** num_predict: a cap when > 0. */
  numPredict: number;
  stop: string[];
  /** "json" or a JSON schema object: the answer is a JSON document. */
  format?: unknown;
  minTokens: number;
  maxTokens: number;
  /** Most new tokens the context window leaves room for. */
  limit?: number;
}

/** An answer: the text of each token (the last may be cut at a stop string), their ids, why it ended. */
export interface Generation {
  texts: string[];
  ids: number[];
  doneReason: "stop" | "length";
}

/**
 * Words of an answer, one per token. Each word depends only on its position in the answer's random
 * stream, so a shorter answer is a prefix of a longer one; the natural end gets a full stop.
 */
function words(next: () => number, count: number, naturalEnd: number): string[] {
  const out: string[] = [];
  let capital = true;
  for (let i = 0; i < count; i++) {
    let w = WORDS[Math.floor(next() * WORDS.length)]!;
    if (capital) w = w[0]!.toUpperCase() + w.slice(1);
    const r = next();
    capital = r < 0.08 || i === naturalEnd - 1;
    if (capital) w += ".";
    else if (r < 0.16) w += ",";
    out.push(i === 0 ? w : ` ${w}`);
  }
  return out;
}

function jsonAnswer(next: () => number, format: unknown, length: number): string {
  const schema = typeof format === "object" && format !== null ? (format as { properties?: unknown }) : {};
  const props =
    typeof schema.properties === "object" && schema.properties !== null
      ? schema.properties
      : { response: {} };
  const entries = Object.entries(props as Record<string, { type?: string }>).map(([k, p]) => {
    const type = p?.type;
    let value: unknown;
    if (type === "integer") value = Math.floor(next() * 100);
    else if (type === "number") value = Math.round(next() * 1e4) / 100;
    else if (type === "boolean") value = next() < 0.5;
    else if (type === "array") value = [];
    else if (type === "object") value = {};
    else
      value = words(next, Math.max(1, Math.floor(length / 2)), Math.max(1, Math.floor(length / 2))).join("");
    return `${JSON.stringify(k)}: ${JSON.stringify(value)}`;
  });
  return `{${entries.join(", ")}}`;
}

/**
 * The answer for an input: a natural length (or num_predict tokens when set) drawn from the key,
 * minus any prefilled part, at most `limit` new tokens, cut at the first stop string.
 */
export function generate(input: GenerationInput): Generation {
  const seedPart = input.temperature > 0 ? input.seed : 0;
  const next = rng(
    fnv(
      input.model,
      input.prompt.key ^ Math.imul(seedPart, 0x85ebca6b) ^ Math.round(input.temperature * 1000),
    ),
  );
  const span = Math.max(0, input.maxTokens - input.minTokens);
  const natural = Math.max(1, input.minTokens + Math.floor(next() * (span + 1)));
  const format =
    input.format === "json" || (typeof input.format === "object" && input.format !== null)
      ? input.format
      : undefined;
  const skip = input.prompt.prefilled;
  const limit = input.limit ?? Infinity;
  let texts: string[];
  let doneReason: Generation["doneReason"] = "stop";
  if (format !== undefined) {
    texts = pieces(jsonAnswer(next, format, natural)).slice(skip);
    if (input.numPredict > 0 && input.numPredict < texts.length) {
      texts = texts.slice(0, input.numPredict);
      doneReason = "length";
    }
  } else {
    const wanted = input.numPredict > 0 ? skip + input.numPredict : Math.max(natural, skip);
    texts = words(next, Math.min(wanted, skip + limit), natural).slice(skip);
    if (input.numPredict > 0) doneReason = "length";
  }
  if (texts.length > limit) texts = texts.slice(0, limit);
  if (texts.length === limit && limit !== Infinity) doneReason = "length";
  const ids = texts.map(tokenId);
  const stops = input.stop.filter((s) => s.length > 0);
  if (stops.length > 0) {
    const joined = texts.join("");
    const at = Math.min(...stops.map((s) => joined.indexOf(s)).filter((i) => i >= 0));
    if (Number.isFinite(at)) {
      let offset = 0;
      for (let i = 0; i < texts.length; i++) {
        const end = offset + texts[i]!.length;
        if (end > at) {
          texts = [...texts.slice(0, i), texts[i]!.slice(0, at - offset)];
          return { texts, ids: ids.slice(0, i + 1), doneReason: "stop" };
        }
        offset = end;
      }
    }
  }
  return { texts, ids, doneReason };
}

/** A unit vector for a text: hashed bag of words plus a per-model offset, so similar texts are close. */
export function embedText(model: string, text: string, dim: number): number[] {
  const v = rawEmbedding(model, text, dim);
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  return Array.from(v, (x) => Math.fround(x / norm));
}

/**
 * The runner's own (float32) vector before Ollama normalises it: what the legacy /api/embeddings
 * returns, while /api/embed returns embedText's unit vector.
 */
export function embedTextRaw(model: string, text: string, dim: number): number[] {
  return Array.from(rawEmbedding(model, text, dim), (x) => Math.fround(x));
}

function rawEmbedding(model: string, text: string, dim: number): Float64Array {
  const v = new Float64Array(dim);
  const base = rng(fnv(model));
  for (let i = 0; i < dim; i++) v[i] = (base() - 0.5) * 0.2;
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const h = fnv(word, fnv(model));
    for (let j = 0; j < 4; j++) {
      const mixed = Math.imul(h ^ (j * 0x9e3779b9), 0x85ebca6b) >>> 0;
      v[mixed % dim]! += mixed & 0x80000000 ? 1 : -1;
    }
  }
  return v;
}
