/**
 * Ollama's OpenAI-compatible endpoints (middleware/openai.go over the native handlers): the request
 * conversion, SSE framing with `data: [DONE]`, stream_options.include_usage, and error objects.
 */
import { namespaceOf } from "./catalog.js";
import type { EmuContext } from "./context.js";
import { goJson } from "./go-compat.js";
import type { JobResult } from "./scheduler-types.js";
import { sendJson, type Dialect, type Exchange } from "./http-io.js";
import { runJob } from "./inference.js";
import { answerWriter, planChat, planGenerate, type Plan } from "./ollama-api.js";
import { planEmbed, runEmbed } from "./ollama-embed.js";
import { fromChatRequest, goTypeOf } from "./openai-convert.js";
import {
  decodeBody,
  OA_CHAT,
  OA_COMPLETION,
  OA_EMBED,
  type InferenceBody,
  type OpenAiBody,
} from "./request-schemas.js";
import { SimError } from "./types.js";

/** openai.NewError: the error type follows the status. */
export function openAiError(status: number, message: string): unknown {
  const type = status === 400 ? "invalid_request_error" : status === 404 ? "not_found_error" : "api_error";
  return { error: { message, type, param: null, code: null } };
}

function sendOpenAiError(x: Exchange, status: number, message: string): void {
  sendJson(x, status, openAiError(status, message), true);
}

function sse(v: unknown): string {
  return `data: ${goJson(v)}\n\n`;
}

/** The SSE dialect of one answer; an error inside a stream becomes an empty chunk, as the writer does. */
function openAiDialect(emptyChunk: () => unknown): Dialect {
  return {
    contentType: "text/event-stream",
    frame: sse,
    errorBody: openAiError,
    midStreamError: () => sse(emptyChunk()),
    malformed: (sample) => `data: ${goJson(sample).slice(0, -7)}\n\n`,
  };
}

function usage(r: JobResult | null): {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
} {
  const m = r?.sequences[0];
  const p = m?.promptEvalCount ?? 0;
  const c = m?.evalCount ?? 0;
  return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c };
}

function decodeOpenAi(x: Exchange, schema: typeof OA_CHAT): OpenAiBody | null {
  const d = decodeBody<OpenAiBody>(x.body, schema);
  if (d.ok) return d.value;
  sendOpenAiError(x, 400, d.error);
  return null;
}

function planOr(x: Exchange, make: () => Plan): Plan | null {
  try {
    return make();
  } catch (err) {
    if (!(err instanceof SimError)) throw err;
    sendOpenAiError(x, err.status, err.message);
    return null;
  }
}

/** POST /v1/chat/completions. */
export function handleChatCompletions(ctx: EmuContext, x: Exchange): void {
  const r = decodeOpenAi(x, OA_CHAT);
  if (!r) return;
  if ((r.messages ?? []).length === 0) return sendOpenAiError(x, 400, "[] is too short - 'messages'");
  const plan = planOr(x, () => planChat(ctx, fromChatRequest(r)));
  if (!plan || plan.kind !== "complete") return;
  const id = `chatcmpl-${ctx.randomInt(999)}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: unknown, finish: string | null, extra: Record<string, unknown> = {}): unknown => ({
    id,
    object: "chat.completion.chunk",
    created,
    model: r.model,
    system_fingerprint: "fp_ollama",
    choices: delta === null ? [] : [{ index: 0, delta, finish_reason: finish }],
    ...extra,
  });
  const stream = r.stream === true;
  const writer = answerWriter(
    ctx,
    x,
    openAiDialect(() => chunk({ role: "assistant", content: "" }, null)),
    stream,
    true,
  );
  const { gen, prompt } = plan.plan;
  runJob(
    ctx,
    x,
    writer,
    { ...plan.plan, sequences: [{ prompt: prompt.tokens, output: gen.ids, cache: true }] },
    {
      token: (_s, i) => writer.token(chunk({ role: "assistant", content: gen.texts[i] }, null)),
      done: (res) => {
        if (!stream) {
          const message = { role: "assistant", content: gen.texts.join("") };
          const body = {
            id,
            object: "chat.completion",
            created,
            model: r.model,
            system_fingerprint: "fp_ollama",
          };
          writer.finish([
            { ...body, choices: [{ index: 0, message, finish_reason: gen.doneReason }], usage: usage(res) },
          ]);
          return;
        }
        const frames = [chunk({ role: "assistant", content: "" }, gen.doneReason)];
        if (r.stream_options?.include_usage) frames.push(chunk(null, null, { usage: usage(res) }));
        writer.finish(frames, "data: [DONE]\n\n");
      },
    },
  );
}

/** POST /v1/completions. */
export function handleCompletions(ctx: EmuContext, x: Exchange): void {
  const r = decodeOpenAi(x, OA_COMPLETION);
  if (!r) return;
  const options: Record<string, unknown> = { temperature: r.temperature ?? 1.0, top_p: r.top_p || 1.0 };
  if (typeof r.stop === "string") options.stop = [r.stop];
  else if (Array.isArray(r.stop)) {
    const bad = r.stop.find((s) => typeof s !== "string");
    if (bad !== undefined) return sendOpenAiError(x, 400, `invalid type for 'stop' field: ${goTypeOf(bad)}`);
    options.stop = r.stop;
  }
  if (r.max_tokens !== undefined) options.num_predict = r.max_tokens;
  if (r.seed !== undefined) options.seed = r.seed;
  const req: InferenceBody = {
    model: r.model,
    prompt: r.prompt,
    suffix: r.suffix,
    options,
    stream: r.stream === true,
  };
  const plan = planOr(x, () => planGenerate(ctx, req));
  if (!plan) return;
  const id = `cmpl-${ctx.randomInt(999)}`;
  const created = Math.floor(Date.now() / 1000);
  const include = r.stream_options?.include_usage === true;
  const zero = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  const chunk = (text: string | null, finish: string | null, u?: unknown): unknown => ({
    id,
    object: "text_completion",
    created,
    choices: text === null ? [] : [{ text, index: 0, finish_reason: finish }],
    model: r.model,
    system_fingerprint: "fp_ollama",
    ...(u !== undefined ? { usage: u } : include ? { usage: zero } : {}),
  });
  const stream = r.stream === true;
  const writer = answerWriter(
    ctx,
    x,
    openAiDialect(() => chunk("", null)),
    stream,
    true,
  );
  const final = (text: string, finish: string, res: JobResult | null): void => {
    if (!stream) {
      const body = {
        id,
        object: "text_completion",
        created,
        model: r.model,
        system_fingerprint: "fp_ollama",
      };
      writer.finish([{ ...body, choices: [{ text, index: 0, finish_reason: finish }], usage: usage(res) }]);
      return;
    }
    const frames = [chunk("", finish)];
    if (include) frames.push(chunk(null, null, usage(res)));
    writer.finish(frames, "data: [DONE]\n\n");
  };
  if (plan.kind === "unload") {
    ctx.scheduler.expire(plan.installed.spec.name);
    return final("", "unload", null);
  }
  if (plan.kind === "load") {
    return runJob(ctx, x, writer, { ...plan, sequences: [] }, { done: () => final("", "load", null) });
  }
  const { gen, prompt } = plan.plan;
  runJob(
    ctx,
    x,
    writer,
    { ...plan.plan, sequences: [{ prompt: prompt.tokens, output: gen.ids, cache: true }] },
    {
      token: (_s, i) => writer.token(chunk(gen.texts[i] ?? "", null)),
      done: (res) => final(stream ? "" : gen.texts.join(""), gen.doneReason, res),
    },
  );
}

/** POST /v1/embeddings. */
export function handleOpenAiEmbeddings(ctx: EmuContext, x: Exchange): void {
  const r = decodeOpenAi(x, OA_EMBED);
  if (!r) return;
  const fmt = r.encoding_format;
  if (fmt && fmt.toLowerCase() !== "float" && fmt.toLowerCase() !== "base64") {
    return sendOpenAiError(
      x,
      400,
      `Invalid value for 'encoding_format' = ${fmt}. Supported values: ['float', 'base64'].`,
    );
  }
  const input = r.input === "" ? [""] : r.input;
  if (input === undefined || (Array.isArray(input) && input.length === 0))
    return sendOpenAiError(x, 400, "invalid input");
  let p: ReturnType<typeof planEmbed>;
  try {
    p = planEmbed(ctx, { model: r.model, input });
  } catch (err) {
    if (err instanceof SimError) return sendOpenAiError(x, err.status, err.message);
    throw err;
  }
  const writer = answerWriter(
    ctx,
    x,
    openAiDialect(() => ({})),
    false,
    true,
  );
  runEmbed(ctx, x, writer, { ...p, dimensions: r.dimensions }, (vectors, count) => ({
    object: "list",
    data: vectors.map((v, index) => ({
      object: "embedding",
      embedding:
        fmt?.toLowerCase() === "base64" ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v,
      index,
    })),
    model: r.model,
    usage: { prompt_tokens: count, total_tokens: count },
  }));
}

/** GET /v1/models: the installed models (data is null when there are none, as Go encodes a nil slice). */
export function handleModels(ctx: EmuContext, x: Exchange): void {
  const data = ctx.store.list().map((m) => ({
    id: m.spec.name,
    object: "model",
    created: Math.floor(m.modifiedAt / 1000),
    owned_by: namespaceOf(m.spec.name),
  }));
  sendJson(x, 200, { object: "list", data: data.length > 0 ? data : null }, true);
}

/** GET /v1/models/:model. */
export function handleModel(ctx: EmuContext, x: Exchange, name: string): void {
  const m = ctx.store.get(name);
  if (!m) return sendOpenAiError(x, 404, `model '${name}' not found`);
  sendJson(
    x,
    200,
    { id: name, object: "model", created: Math.floor(m.modifiedAt / 1000), owned_by: namespaceOf(name) },
    true,
  );
}
