/**
 * What the gateway knows of one generation while it streams through: the text so far, token count,
 * the first and final objects. From it the gateway assembles a whole answer for a client that did not
 * ask for a stream, patches final statistics, and builds the request that continues the generation on
 * another instance when the first one dies mid-answer.
 */

/** Generation endpoints (embeddings are not generations). */
export type GenerationKind = "generate" | "chat" | "openai_chat" | "openai_completions";

type Json = Record<string, unknown>;

/** Accumulated state of one generation across attempts. */
export class GenerationState {
  text = "";
  thinking = "";
  /** Content-bearing chunks forwarded so far (one per token, as Ollama streams). */
  tokens = 0;
  /** Tokens produced by attempts before the current one (added to the final statistics). */
  tokensBefore = 0;
  first: Json | undefined;
  final: Json | undefined;
  usage: Json | undefined;
  finishReason: string | undefined;
  toolCalls: unknown[] = [];

  constructor(readonly kind: GenerationKind) {}

  /** Takes in one upstream object (already converted to this kind's shape). */
  absorb(obj: Json): void {
    this.first ??= obj;
    switch (this.kind) {
      case "generate":
        this.addText(str(obj.response), str(obj.thinking));
        if (obj.done === true) this.final = obj;
        break;
      case "chat": {
        const msg = (obj.message ?? {}) as Json;
        this.addText(str(msg.content), str(msg.thinking));
        if (Array.isArray(msg.tool_calls)) this.toolCalls.push(...(msg.tool_calls as unknown[]));
        if (obj.done === true) this.final = obj;
        break;
      }
      case "openai_chat":
      case "openai_completions": {
        if (obj.usage && typeof obj.usage === "object") this.usage = obj.usage as Json;
        const choice = (Array.isArray(obj.choices) ? obj.choices[0] : undefined) as Json | undefined;
        if (!choice) break;
        const delta = (choice.delta ?? {}) as Json;
        this.addText(
          this.kind === "openai_chat" ? str(delta.content) : str(choice.text),
          str(delta.reasoning),
        );
        if (Array.isArray(delta.tool_calls)) this.toolCalls.push(...(delta.tool_calls as unknown[]));
        if (typeof choice.finish_reason === "string") {
          this.finishReason = choice.finish_reason;
          this.final = obj;
        }
        break;
      }
    }
  }

  private addText(text: string, thinking: string): void {
    if (text !== "" || thinking !== "") this.tokens++;
    this.text += text;
    this.thinking += thinking;
  }

  /** Forgets everything (a whole answer not yet sent is restarted from scratch elsewhere). */
  reset(): void {
    this.text = "";
    this.thinking = "";
    this.tokens = 0;
    this.tokensBefore = 0;
    this.first = undefined;
    this.final = undefined;
    this.usage = undefined;
    this.finishReason = undefined;
    this.toolCalls = [];
  }

  /** Marks the start of a continuation attempt. */
  beginContinuation(): void {
    this.tokensBefore = this.tokens;
    this.final = undefined;
  }
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/** The final object with statistics that add up across attempts (eval_count, total_duration). */
export function patchFinal(state: GenerationState, final: Json, totalNs: number): Json {
  if (state.tokensBefore === 0) return final;
  if (state.kind === "generate" || state.kind === "chat") {
    // The continuation's prompt held the partial answer too: those tokens are output, not prompt.
    return {
      ...final,
      prompt_eval_count: Math.max(0, num(final.prompt_eval_count) - state.tokensBefore),
      eval_count: num(final.eval_count) + state.tokensBefore,
      total_duration: totalNs,
    };
  }
  return final;
}

/** OpenAI usage with the tokens of earlier attempts added. */
export function patchUsage(state: GenerationState, usage: Json): Json {
  if (state.tokensBefore === 0) return usage;
  const completion = num(usage.completion_tokens) + state.tokensBefore;
  const prompt = Math.max(0, num(usage.prompt_tokens) - state.tokensBefore);
  return {
    ...usage,
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
}

/** The whole answer, as Ollama would have sent it to a client that did not ask for a stream. */
export function assembleWhole(state: GenerationState, totalNs: number): Json {
  const final = patchFinal(state, state.final ?? state.first ?? {}, totalNs);
  switch (state.kind) {
    case "generate":
      return { ...final, response: state.text, ...(state.thinking ? { thinking: state.thinking } : {}) };
    case "chat": {
      const message: Json = { role: "assistant", content: state.text };
      if (state.thinking) message.thinking = state.thinking;
      if (state.toolCalls.length > 0) message.tool_calls = state.toolCalls;
      return { ...final, message };
    }
    case "openai_chat":
    case "openai_completions": {
      const head = state.first ?? {};
      const usage = state.usage ? patchUsage(state, state.usage) : undefined;
      const finish = state.finishReason ?? "stop";
      const choice =
        state.kind === "openai_chat"
          ? {
              index: 0,
              message: {
                role: "assistant",
                content: state.text,
                ...(state.thinking ? { reasoning: state.thinking } : {}),
                ...(state.toolCalls.length > 0 ? { tool_calls: state.toolCalls } : {}),
              },
              finish_reason: state.toolCalls.length > 0 ? "tool_calls" : finish,
            }
          : { text: state.text, index: 0, finish_reason: finish };
      return {
        id: head.id,
        object: state.kind === "openai_chat" ? "chat.completion" : "text_completion",
        created: head.created,
        model: head.model,
        system_fingerprint: head.system_fingerprint,
        choices: [choice],
        ...(usage ? { usage } : {}),
      };
    }
  }
}

/** An upstream request that continues a generation, or why that is impossible. */
export type Continuation =
  { ok: true; path: string; body: Json; convertChatToGenerate: boolean } | { ok: false; reason: string };

/** Builds the request that continues `state` on another instance (the text so far as prefill). */
export function continuationOf(state: GenerationState, original: Json): Continuation {
  const remaining = (limit: unknown): number | undefined =>
    typeof limit === "number" && limit > 0 ? Math.max(1, limit - state.tokens) : undefined;
  if (original.format !== undefined && original.format !== null && original.format !== "") {
    return { ok: false, reason: "a structured-output (format) answer cannot be resumed" };
  }
  if (Array.isArray(original.tools) && original.tools.length > 0) {
    return { ok: false, reason: "an answer with tools cannot be resumed" };
  }
  const options = { ...((original.options ?? {}) as Json) };
  const left = remaining(options.num_predict);
  if (left !== undefined) options.num_predict = left;
  switch (state.kind) {
    case "chat": {
      const messages = [
        ...((original.messages ?? []) as unknown[]),
        { role: "assistant", content: state.text },
      ];
      return {
        ok: true,
        path: "/api/chat",
        body: { ...original, messages, options, stream: true },
        convertChatToGenerate: false,
      };
    }
    case "generate": {
      if (original.raw === true) {
        const prompt = str(original.prompt) + state.text;
        return {
          ok: true,
          path: "/api/generate",
          body: { ...original, prompt, options, stream: true },
          convertChatToGenerate: false,
        };
      }
      if (original.suffix || original.template || original.context) {
        return { ok: false, reason: "a generate request with suffix, template or context cannot be resumed" };
      }
      // Ollama renders a plain generate exactly like a chat of [system, user]; continuing that chat
      // with the partial answer as the assistant's message resumes the same generation.
      const messages: Json[] = [];
      if (typeof original.system === "string" && original.system)
        messages.push({ role: "system", content: original.system });
      const user: Json = { role: "user", content: str(original.prompt) };
      if (Array.isArray(original.images)) user.images = original.images;
      messages.push(user, { role: "assistant", content: state.text });
      const body: Json = { model: original.model, messages, options, stream: true };
      if (original.keep_alive !== undefined) body.keep_alive = original.keep_alive;
      return { ok: true, path: "/api/chat", body, convertChatToGenerate: true };
    }
    case "openai_chat": {
      const messages = [
        ...((original.messages ?? []) as unknown[]),
        { role: "assistant", content: state.text },
      ];
      const body: Json = { ...original, messages, stream: true };
      for (const key of ["max_tokens", "max_completion_tokens"]) {
        const left2 = remaining(original[key]);
        if (left2 !== undefined) body[key] = left2;
      }
      return { ok: true, path: "/v1/chat/completions", body, convertChatToGenerate: false };
    }
    case "openai_completions":
      return { ok: false, reason: "a /v1/completions answer cannot be resumed" };
  }
}

/** A chat chunk rewritten as the generate chunk the client expects after a chat-based continuation. */
export function chatChunkAsGenerate(chunk: Json): Json {
  const { message, ...rest } = chunk;
  const msg = (message ?? {}) as Json;
  const out: Json = { ...rest, response: str(msg.content) };
  if (typeof msg.thinking === "string" && msg.thinking) out.thinking = msg.thinking;
  return out;
}
