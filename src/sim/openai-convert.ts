/** openai.FromChatRequest: an OpenAI chat request as the native chat request Ollama turns it into. */
import type { InferenceBody, OpenAiBody } from "./request-schemas.js";
import { SimError } from "./types.js";

/** Go's %T of a decoded JSON value, as Ollama's conversion errors print it. */
export function goTypeOf(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  if (typeof v === "number") return "float64";
  if (typeof v === "boolean") return "bool";
  return Array.isArray(v) ? "[]interface {}" : typeof v === "string" ? "string" : "map[string]interface {}";
}

/** openai.FromChatRequest: messages, stop, max_tokens, temperature/top_p defaults of 1, format. */
export function fromChatRequest(r: OpenAiBody): InferenceBody {
  const messages: NonNullable<InferenceBody["messages"]> = [];
  for (const msg of r.messages ?? []) {
    const role = msg.role ?? "";
    if (typeof msg.content === "string") messages.push({ role, content: msg.content });
    else if (Array.isArray(msg.content)) {
      for (const part of msg.content as unknown[]) {
        const p = typeof part === "object" && part !== null ? (part as Record<string, unknown>) : null;
        if (p?.type === "text" && typeof p.text === "string") messages.push({ role, content: p.text });
        else if (p?.type === "image_url") messages.push({ role, content: "", images: [""] });
        else throw new SimError(400, "invalid message format");
      }
    } else if ((msg as { tool_calls?: unknown }).tool_calls == null) {
      throw new SimError(400, `invalid message content type: ${goTypeOf(msg.content)}`);
    } else messages.push({ role, content: "" });
  }
  const options: Record<string, unknown> = { temperature: r.temperature ?? 1.0, top_p: r.top_p ?? 1.0 };
  if (typeof r.stop === "string") options.stop = [r.stop];
  else if (Array.isArray(r.stop)) options.stop = r.stop.filter((s) => typeof s === "string");
  if (r.max_tokens !== undefined) options.num_predict = r.max_tokens;
  if (r.seed !== undefined) options.seed = r.seed;
  const type = r.response_format?.type?.trim().toLowerCase();
  const format =
    type === "json_object"
      ? "json"
      : type === "json_schema"
        ? r.response_format?.json_schema?.schema
        : undefined;
  return { model: r.model, messages, options, format, stream: r.stream === true, tools: r.tools };
}
