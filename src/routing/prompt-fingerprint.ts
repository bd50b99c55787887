/**
 * A request's prompt as a chain of prefix hashes, for KV-cache affinity. llama.cpp reuses a slot's KV cache
 * only for a prefix of the *rendered* prompt (tools, system prompt, the whole history), so the fingerprint
 * covers all of it, in the order the template renders it. We cannot run the model's template, but any
 * serialisation that keeps that order has the property that matters: turn n's text is a prefix of turn
 * n+1's, and two prompts share a serialised prefix exactly when they share a rendered one (up to a message).
 *
 * The text is cut into fixed chunks; the hash after chunk i covers every character up to its end (one
 * running FNV-1a pass, two lanes for 53 bits), so "chunk i's hash is known" implies "the whole prefix up to
 * chunk i is known" and a longest match is a binary search. Approximate on purpose: a collision costs one
 * misrouted request, never a wrong answer.
 */

/** Characters per chunk (~32 tokens at ~4 characters per token). */
export const CHUNK_CHARS = 128;

/** Characters per token assumed when turning matched chunks into tokens. */
export const CHARS_PER_TOKEN = 4;

/** A prompt's prefix hashes; `hashes[i]` covers characters [0, (i + 1) × CHUNK_CHARS). */
export interface PromptFingerprint {
  hashes: readonly number[];
  /** Length of the serialised prompt, characters. */
  chars: number;
  /**
   * Whether the request starts a conversation: a chat without an assistant turn in its history, or a
   * generate call without `context`. Such a request has no cache of its own anywhere to lose.
   */
  opensConversation?: boolean;
}

/** The empty fingerprint: no affinity for requests without a prompt. */
export const EMPTY_FINGERPRINT: PromptFingerprint = { hashes: [], chars: 0 };

/** Endpoints whose prompt can hit a KV cache. */
export type PromptEndpoint = "generate" | "chat" | "openai_chat" | "openai_completions";

/** Images and other long blobs: length plus the head, so equal attachments hash equally at small cost. */
function blob(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "");
  return text.length <= 512 ? text : `${text.length}:${text.slice(0, 256)}${text.slice(-256)}`;
}

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return content === undefined || content === null ? "" : blob(content);
  // OpenAI content parts: text in order, images as blobs.
  return content
    .map((part: unknown) => {
      const p = part as { type?: unknown; text?: unknown };
      return p.type === "text" && typeof p.text === "string" ? p.text : blob(part);
    })
    .join("\u0002");
}

function messagesText(messages: unknown): string {
  if (!Array.isArray(messages)) return "";
  let out = "";
  for (const m of messages as Record<string, unknown>[]) {
    out += `\u0000${String(m.role)}\u0001${contentText(m.content)}`;
    if (m.images !== undefined && m.images !== null) out += `\u0003${blob(m.images)}`;
    if (m.tool_calls !== undefined && m.tool_calls !== null) out += `\u0004${JSON.stringify(m.tool_calls)}`;
  }
  return out;
}

/** The prompt of a request, serialised in rendering order (tools first, as chat templates put them). */
export function renderPromptText(endpoint: PromptEndpoint, json: Record<string, unknown>): string {
  switch (endpoint) {
    case "chat":
    case "openai_chat": {
      const tools = Array.isArray(json.tools) && json.tools.length > 0 ? JSON.stringify(json.tools) : "";
      return `${tools}${messagesText(json.messages)}`;
    }
    case "generate": {
      const context = Array.isArray(json.context) ? json.context.join(",") : "";
      const images = json.images ? blob(json.images) : "";
      const raw = json.raw === true ? "\u0005" : "";
      const system = typeof json.system === "string" ? json.system : "";
      const template = typeof json.template === "string" ? json.template : "";
      const prompt = typeof json.prompt === "string" ? json.prompt : "";
      return `${raw}${template}\u0000${system}\u0000${context}\u0000${prompt}${images}`;
    }
    case "openai_completions":
      return typeof json.prompt === "string" ? json.prompt : JSON.stringify(json.prompt ?? "");
  }
}

/** Prefix hashes of a text, one per whole chunk (the tail shorter than a chunk is not indexed). */
export function fingerprintText(text: string): PromptFingerprint {
  const hashes: number[] = [];
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  const whole = text.length - (text.length % CHUNK_CHARS);
  for (let i = 0; i < whole; i++) {
    const code = text.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x01000193) ^ (b >>> 15);
    if ((i + 1) % CHUNK_CHARS === 0) hashes.push((a >>> 0) * 0x200000 + (b >>> 11));
  }
  return { hashes, chars: text.length };
}

/** The fingerprint of a request body for an endpoint. */
export function fingerprintRequest(
  endpoint: PromptEndpoint,
  json: Record<string, unknown>,
): PromptFingerprint {
  return { ...fingerprintText(renderPromptText(endpoint, json)), opensConversation: opens(endpoint, json) };
}

function opens(endpoint: PromptEndpoint, json: Record<string, unknown>): boolean {
  switch (endpoint) {
    case "chat":
    case "openai_chat":
      return !(
        Array.isArray(json.messages) &&
        json.messages.some((m: unknown) => (m as { role?: unknown } | null)?.role === "assistant")
      );
    case "generate":
      return !(Array.isArray(json.context) && json.context.length > 0);
    case "openai_completions":
      return true;
  }
}

/** Tokens a number of matched chunks stand for (estimate). */
export function chunksToTokens(chunks: number): number {
  return Math.round((chunks * CHUNK_CHARS) / CHARS_PER_TOKEN);
}
