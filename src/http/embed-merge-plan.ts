/**
 * Which embedding requests can be merged into one upstream `/api/embed` call, under which key, and
 * the merged request body. Ollama's EmbedHandler embeds each input of the array on its own (one
 * sequence each) and returns the vectors in input order, so the vectors of a merged call are exactly
 * those of the separate calls, as long as everything else that reaches the handler is the same.
 *
 * The legacy `/api/embeddings` is never merged: Ollama returns the runner's raw vector there, while
 * `/api/embed` L2-normalises it, so no `/api/embed` answer can be turned back into a legacy one.
 */
import { canonicalJson } from "./coalesce-key.js";
import type { InferenceEndpoint, ParsedInference } from "./request-body.js";

type Json = Record<string, unknown>;

/** How a member wants its vectors back. */
export type EmbedFormat = "ollama" | "openai_float" | "openai_base64";

/** A request that may join a merged call: its inputs and everything else the handler sees. */
export interface MergeCandidate {
  /** Requests with the same key may share one upstream call. */
  key: string;
  /** The model exactly as the client sent it (Ollama echoes it back). */
  model: string;
  inputs: string[];
  format: EmbedFormat;
  /** The merged body's fields other than model and input, as Ollama would see them. */
  settings: Json;
}

// Fields of Go's api.EmbedRequest and openai.EmbedRequest: Go matches JSON keys to them ignoring case,
// so a key that differs from these only in case would be read by Ollama but not by us.
const OLLAMA_FIELDS = new Set(["model", "input", "truncate", "dimensions", "keep_alive", "options"]);
const OPENAI_FIELDS = new Set(["model", "input", "dimensions", "encoding_format"]);
const ALL_FIELDS = new Set([...OLLAMA_FIELDS, ...OPENAI_FIELDS]);

/**
 * The merge candidate of a request, or undefined when it must go upstream as it is: anything Ollama
 * would reject (so its own error reaches the client untouched), load-only requests with no input,
 * token-array inputs, and bodies with fields we do not model.
 */
export function mergeCandidateOf(
  endpoint: InferenceEndpoint,
  parsed: ParsedInference,
): MergeCandidate | undefined {
  const json = parsed.json;
  const known =
    endpoint === "embed" ? OLLAMA_FIELDS : endpoint === "openai_embeddings" ? OPENAI_FIELDS : null;
  if (!known) return undefined;
  for (const key of Object.keys(json)) {
    if (!known.has(key) && ALL_FIELDS.has(key.toLowerCase())) return undefined;
  }
  if (typeof json.model !== "string" || json.model === "") return undefined;
  const dimensions = dimensionsOf(json.dimensions);
  if (dimensions === false) return undefined;

  if (endpoint === "embed") {
    const inputs = stringInputs(json.input, false);
    if (!inputs) return undefined;
    if (json.truncate !== undefined && json.truncate !== null && typeof json.truncate !== "boolean")
      return undefined;
    const options = json.options === null || json.options === undefined ? undefined : json.options;
    if (options !== undefined && (typeof options !== "object" || Array.isArray(options))) return undefined;
    const settings: Json = {};
    // Only `truncate: false` changes anything (nil and true both truncate).
    if (json.truncate === false) settings.truncate = false;
    if (dimensions > 0) settings.dimensions = dimensions;
    if (json.keep_alive !== undefined && json.keep_alive !== null) settings.keep_alive = json.keep_alive;
    if (options !== undefined && Object.keys(options).length > 0) settings.options = options;
    return { key: keyOf(json.model, settings), model: json.model, inputs, format: "ollama", settings };
  }

  // Ollama's OpenAI layer sends /api/embed only model, input and dimensions.
  const inputs = stringInputs(json.input, true);
  if (!inputs) return undefined;
  const fmt = json.encoding_format;
  let format: EmbedFormat;
  if (fmt === undefined || fmt === null || fmt === "") format = "openai_float";
  else if (typeof fmt !== "string") return undefined;
  else if (fmt.toLowerCase() === "float") format = "openai_float";
  else if (fmt.toLowerCase() === "base64") format = "openai_base64";
  else return undefined;
  const settings: Json = dimensions > 0 ? { dimensions } : {};
  return { key: keyOf(json.model, settings), model: json.model, inputs, format, settings };
}

/** Go's `int` field: absent or null is 0; a fraction or a non-number is Ollama's 400 (false here). */
function dimensionsOf(v: unknown): number | false {
  if (v === undefined || v === null) return 0;
  return typeof v === "number" && Number.isSafeInteger(v) ? v : false;
}

/**
 * The inputs of a request as Ollama embeds them, or undefined when there are none or they are not
 * strings. OpenAI's layer turns `""` into `[""]`; /api/embed treats `""` as "no input" (a load).
 */
function stringInputs(input: unknown, openai: boolean): string[] | undefined {
  if (typeof input === "string") {
    if (input !== "") return [input];
    return openai ? [""] : undefined;
  }
  if (!Array.isArray(input) || input.length === 0) return undefined;
  return input.every((v): v is string => typeof v === "string") ? [...input] : undefined;
}

function keyOf(model: string, settings: Json): string {
  return canonicalJson([model, settings]);
}

/** A merged call: the upstream body and, per member, where its inputs sit in the upstream input list. */
export interface MergedRequest {
  body: string;
  /** Distinct inputs sent upstream (identical inputs are embedded once). */
  uniqueInputs: string[];
  /** For each member, for each of its inputs, the index into `uniqueInputs`. */
  slots: number[][];
}

/** Builds the one `/api/embed` request that carries every member's inputs. */
export function buildMergedRequest(members: readonly MergeCandidate[]): MergedRequest {
  const first = members[0];
  if (!first) throw new Error("a merged call needs at least one member");
  const index = new Map<string, number>();
  const uniqueInputs: string[] = [];
  const slots = members.map((m) =>
    m.inputs.map((text) => {
      let at = index.get(text);
      if (at === undefined) {
        at = uniqueInputs.length;
        index.set(text, at);
        uniqueInputs.push(text);
      }
      return at;
    }),
  );
  const body = JSON.stringify({ model: first.model, input: uniqueInputs, ...first.settings });
  return { body, uniqueInputs, slots };
}
