/** Parsing and type-checking of inference request bodies, with Ollama-style messages on failure. */
import { z } from "zod";
import { GatewayError } from "../errors/catalog.js";

/** Endpoints the gateway routes to one instance by model. */
export type InferenceEndpoint =
  "generate" | "chat" | "embed" | "embeddings" | "openai_chat" | "openai_completions" | "openai_embeddings";

const keepAlive = z.union([z.string(), z.number()]).optional();
const options = z.record(z.string(), z.unknown()).optional();
const message = z.looseObject({ role: z.string(), content: z.unknown().optional() });

const SCHEMAS: Record<InferenceEndpoint, z.ZodType> = {
  generate: z.looseObject({
    model: z.string(),
    prompt: z.string().optional(),
    suffix: z.string().optional(),
    system: z.string().optional(),
    template: z.string().optional(),
    stream: z.boolean().optional(),
    raw: z.boolean().optional(),
    images: z.array(z.string()).nullish(),
    context: z.array(z.number()).nullish(),
    options,
    keep_alive: keepAlive,
  }),
  chat: z.looseObject({
    model: z.string(),
    messages: z.array(message).nullish(),
    tools: z.array(z.unknown()).nullish(),
    stream: z.boolean().optional(),
    options,
    keep_alive: keepAlive,
  }),
  embed: z.looseObject({
    model: z.string(),
    input: z.union([z.string(), z.array(z.string())]).optional(),
    truncate: z.boolean().optional(),
    options,
    keep_alive: keepAlive,
  }),
  embeddings: z.looseObject({
    model: z.string(),
    prompt: z.string().optional(),
    options,
    keep_alive: keepAlive,
  }),
  openai_chat: z.looseObject({
    model: z.string(),
    messages: z.array(message),
    stream: z.boolean().nullish(),
    stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  }),
  openai_completions: z.looseObject({
    model: z.string(),
    prompt: z.union([z.string(), z.array(z.string())]),
    stream: z.boolean().nullish(),
  }),
  openai_embeddings: z.looseObject({
    model: z.string(),
    input: z.union([z.string(), z.array(z.string()), z.array(z.number()), z.array(z.array(z.number()))]),
  }),
};

/** A parsed, type-checked inference request. */
export interface ParsedInference {
  /** The model name exactly as the client sent it. */
  model: string;
  /** Whether the answer streams (Ollama's generate/chat stream unless told otherwise; OpenAI only when asked). */
  stream: boolean;
  json: Record<string, unknown>;
}

/** Parses a raw body as a JSON object; throws `bad_json`/`missing_body` in Ollama's words. */
export function parseJsonObject(raw: unknown): Record<string, unknown> {
  const buf = raw instanceof Buffer ? raw : typeof raw === "string" ? Buffer.from(raw) : undefined;
  if (buf === undefined || buf.length === 0) throw new GatewayError("missing_body", "missing request body");
  let value: unknown;
  try {
    value = JSON.parse(buf.toString("utf8"));
  } catch (err) {
    throw new GatewayError("bad_json", `invalid JSON in request body: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new GatewayError("bad_json", `request body must be a JSON object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Parses and checks an inference request body for one endpoint. */
export function parseInference(endpoint: InferenceEndpoint, raw: unknown): ParsedInference {
  const json = parseJsonObject(raw);
  if (json.model === undefined || json.model === "") {
    throw new GatewayError("model_required", "model is required");
  }
  const result = SCHEMAS[endpoint].safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.map(String).join(".");
      const got = describe(valueAt(json, issue.path));
      return `"${path}": ${issue.message.replace(/^Invalid input: /, "")} (got ${got})`;
    });
    throw new GatewayError("invalid_field", `invalid request: ${problems.join("; ")}`);
  }
  const model = json.model as string;
  const stream = endpoint.startsWith("openai_")
    ? json.stream === true
    : endpoint === "generate" || endpoint === "chat"
      ? json.stream !== false
      : false;
  return { model, stream, json };
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}
