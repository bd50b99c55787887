/**
 * The Go request structs of Ollama's api and openai packages, as far as decoding errors show them
 * (field names, Go types), with the TypeScript shape each decodes to.
 */
import { decodeKeepAlive } from "./go-compat.js";
import { goDecode, type GoType } from "./go-json.js";

type Struct = GoType & { k: "struct" };

const str: GoType = { k: "string" };
const bool: GoType = { k: "bool" };
const int: GoType = { k: "int" };
const f32: GoType = { k: "float", bits: 32 };
const f64: GoType = { k: "float", bits: 64 };
const any: GoType = { k: "any" };
const options: GoType = { k: "map", name: "map[string]interface {}" };
const keepAlive: GoType = {
  k: "custom",
  name: "api.Duration",
  check: (v) => {
    const r = decodeKeepAlive(v);
    return "error" in r ? r.error : null;
  },
};
const slice = (elem: GoType, name: string): GoType => ({ k: "slice", elem, name });
const struct = (pkg: string, name: string, fields: Record<string, GoType>): Struct => ({
  k: "struct",
  pkg,
  name,
  fields,
});

const message = struct("api", "Message", {
  role: str,
  content: str,
  thinking: str,
  images: slice(str, "[]api.ImageData"),
  tool_calls: any,
  tool_name: str,
});

/** An api.Message as decoded. */
export interface ApiMessage {
  role?: string;
  content?: string;
  images?: string[];
}

const common = {
  model: str,
  keep_alive: keepAlive,
  options,
  stream: bool,
  format: any,
  think: any,
  truncate: bool,
};

/** api.GenerateRequest. */
export const GENERATE = struct("api", "GenerateRequest", {
  ...common,
  prompt: str,
  suffix: str,
  system: str,
  template: str,
  context: slice(int, "[]int"),
  raw: bool,
  images: slice(str, "[]api.ImageData"),
  shift: bool,
  logprobs: bool,
  top_logprobs: int,
});

/** api.ChatRequest. */
export const CHAT = struct("api", "ChatRequest", {
  ...common,
  messages: slice(message, "[]api.Message"),
  tools: any,
  shift: bool,
  logprobs: bool,
  top_logprobs: int,
});

/** Fields generate and chat share, as decoded. */
export interface InferenceBody {
  model?: string;
  keep_alive?: number | string;
  options?: Record<string, unknown>;
  stream?: boolean;
  format?: unknown;
  think?: unknown;
  truncate?: boolean;
  prompt?: string;
  suffix?: string;
  system?: string;
  template?: string;
  context?: number[];
  raw?: boolean;
  images?: string[];
  messages?: ApiMessage[];
  tools?: unknown;
}

/** api.EmbedRequest. */
export const EMBED = struct("api", "EmbedRequest", {
  model: str,
  input: any,
  keep_alive: keepAlive,
  truncate: bool,
  dimensions: int,
  options,
});

/** api.EmbeddingRequest (the legacy /api/embeddings). */
export const EMBEDDING = struct("api", "EmbeddingRequest", {
  model: str,
  prompt: str,
  keep_alive: keepAlive,
  options,
});

/** Embed and embeddings bodies, as decoded. */
export interface EmbedBody {
  model?: string;
  input?: unknown;
  prompt?: string;
  keep_alive?: number | string;
  truncate?: boolean;
  dimensions?: number;
  options?: Record<string, unknown>;
}

/** api.PullRequest (and PushRequest, same fields). */
export const PULL = struct("api", "PullRequest", {
  model: str,
  insecure: bool,
  username: str,
  password: str,
  stream: bool,
  name: str,
});

/** api.DeleteRequest. */
export const DELETE = struct("api", "DeleteRequest", { model: str, name: str });
/** api.CopyRequest. */
export const COPY = struct("api", "CopyRequest", { source: str, destination: str });
/** api.ShowRequest. */
export const SHOW = struct("api", "ShowRequest", {
  model: str,
  system: str,
  template: str,
  verbose: bool,
  options,
  name: str,
});
/** api.CreateRequest (the fields the emulator uses). */
export const CREATE = struct("api", "CreateRequest", {
  model: str,
  from: str,
  stream: bool,
  quantize: str,
  system: str,
  template: str,
  license: any,
  parameters: options,
  messages: slice(message, "[]api.Message"),
  name: str,
});

/** Model-management bodies, as decoded. */
export interface ManageBody {
  model?: string;
  name?: string;
  stream?: boolean;
  source?: string;
  destination?: string;
  from?: string;
  system?: string;
  verbose?: boolean;
}

const oaMessage = struct("openai", "Message", {
  role: str,
  content: any,
  reasoning: str,
  tool_calls: any,
  name: str,
  tool_call_id: str,
});
const streamOptions = struct("openai", "StreamOptions", { include_usage: bool });

/** openai.ChatCompletionRequest. */
export const OA_CHAT = struct("openai", "ChatCompletionRequest", {
  model: str,
  messages: slice(oaMessage, "[]openai.Message"),
  stream: bool,
  stream_options: streamOptions,
  max_tokens: int,
  seed: int,
  stop: any,
  temperature: f64,
  frequency_penalty: f64,
  presence_penalty: f64,
  top_p: f64,
  response_format: struct("openai", "ResponseFormat", {
    type: str,
    json_schema: struct("openai", "JsonSchema", { schema: any }),
  }),
  tools: any,
  reasoning: any,
  reasoning_effort: str,
});

/** openai.CompletionRequest. */
export const OA_COMPLETION = struct("openai", "CompletionRequest", {
  model: str,
  prompt: str,
  frequency_penalty: f32,
  max_tokens: int,
  presence_penalty: f32,
  seed: int,
  stop: any,
  stream: bool,
  stream_options: streamOptions,
  temperature: f32,
  top_p: f32,
  suffix: str,
});

/** openai.EmbedRequest. */
export const OA_EMBED = struct("openai", "EmbedRequest", {
  input: any,
  model: str,
  dimensions: int,
  encoding_format: str,
});

/** OpenAI-compatible bodies, as decoded. */
export interface OpenAiBody {
  model?: string;
  messages?: { role?: string; content?: unknown; name?: string }[];
  prompt?: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  seed?: number;
  stop?: unknown;
  temperature?: number;
  top_p?: number;
  response_format?: { type?: string; json_schema?: { schema?: unknown } };
  tools?: unknown;
  suffix?: string;
  input?: unknown;
  dimensions?: number;
  encoding_format?: string;
}

/** Decodes a body into one of the structs above; `eof` marks an empty body ("missing request body"). */
export function decodeBody<T>(
  body: string,
  schema: Struct,
): { ok: true; value: T } | { ok: false; eof: boolean; error: string } {
  const r = goDecode(body, schema);
  // The schema check above guarantees the shape T describes.
  return r.ok ? { ok: true, value: r.value as T } : r;
}
