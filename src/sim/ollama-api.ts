/**
 * Ollama's generation endpoints (routes.go GenerateHandler, ChatHandler): the same checks in the
 * same order, the same error texts and statuses.
 */
import type { EmuContext } from "./context.js";
import { goTime } from "./go-compat.js";
import { AnswerWriter, OLLAMA_DIALECT, sendJson, type Dialect, type Exchange } from "./http-io.js";
import {
  checkFormat,
  INVALID_MODEL_NAME,
  keepAliveMs,
  metrics,
  parseModelRef,
  planCompletion,
  readOptions,
  runJob,
  wantsThinking,
  type CompletionPlan,
} from "./inference.js";
import type { InstalledModel } from "./model-store.js";
import { effectiveNumCtx } from "./perf-model.js";
import { CHAT, decodeBody, GENERATE, type InferenceBody } from "./request-schemas.js";
import { renderChat, renderRaw, type TemplateMessage } from "./text-model.js";
import { SimError } from "./types.js";

/** What a generate or chat request comes to once checked. */
export type Plan =
  | { kind: "unload"; installed: InstalledModel }
  | { kind: "load"; installed: InstalledModel; numCtx: number; keepAliveMs?: number }
  | { kind: "complete"; plan: CompletionPlan };

/** A writer for an inference answer, with the request's faults and the emulator's hooks. */
export function answerWriter(
  ctx: EmuContext,
  x: Exchange,
  dialect: Dialect,
  stream: boolean,
  jsonNewline = false,
): AnswerWriter {
  return new AnswerWriter(x, {
    dialect,
    stream,
    plan: x.plan,
    jsonNewline,
    countError: () => ctx.stats.error(),
    crash: () => ctx.crash(),
  });
}

function loadPlan(ctx: EmuContext, installed: InstalledModel, req: InferenceBody): Plan {
  const numCtx = effectiveNumCtx(readOptions(req.options).numCtx ?? ctx.opts.defaultNumCtx, installed.spec);
  return { kind: "load", installed, numCtx, keepAliveMs: keepAliveMs(ctx, req.keep_alive) };
}

/** GenerateHandler's checks; throws SimError with Ollama's status and text. */
export function planGenerate(ctx: EmuContext, req: InferenceBody): Plan {
  const ref = parseModelRef(req.model);
  if ("error" in ref) {
    throw ref.error === "invalid"
      ? new SimError(400, INVALID_MODEL_NAME)
      : new SimError(404, `model '${req.model ?? ""}' not found`);
  }
  const installed = ctx.store.get(ref.name);
  if (!installed) throw new SimError(404, `model '${req.model}' not found`);
  const prompt = req.prompt ?? "";
  if (prompt === "" && keepAliveMs(ctx, req.keep_alive) === 0) return { kind: "unload", installed };
  if (req.raw && (req.template || req.system || (req.context?.length ?? 0) > 0)) {
    throw new SimError(400, "raw mode does not support template, system, or context");
  }
  if (wantsThinking(req.think)) throw new SimError(400, `"${req.model}" does not support thinking`);
  if (installed.spec.embeddingOnly) throw new SimError(400, `"${req.model}" does not support generate`);
  const sampling = readOptions(req.options);
  if (prompt === "") return loadPlan(ctx, installed, req);
  checkFormat(req.format);
  const text = req.suffix ? `${prompt} ${req.suffix}` : prompt;
  const system = req.system ? [{ role: "system", content: req.system }] : [];
  const rendered = req.raw
    ? renderRaw(text, req.context)
    : renderChat([...system, { role: "user", content: text, images: req.images?.length }], req.context);
  const plan = planCompletion(
    ctx,
    installed,
    rendered,
    sampling,
    req.format,
    keepAliveMs(ctx, req.keep_alive),
  );
  return { kind: "complete", plan };
}

/** ChatHandler's checks; throws SimError with Ollama's status and text. */
export function planChat(ctx: EmuContext, req: InferenceBody): Plan {
  const ref = parseModelRef(req.model);
  if ("error" in ref)
    throw new SimError(400, ref.error === "invalid" ? INVALID_MODEL_NAME : "model is required");
  const installed = ctx.store.get(ref.name);
  if (!installed) throw new SimError(404, `model '${req.model}' not found`);
  const messages = req.messages ?? [];
  if (messages.length === 0 && keepAliveMs(ctx, req.keep_alive) === 0) return { kind: "unload", installed };
  if (wantsThinking(req.think)) throw new SimError(400, `"${req.model}" does not support thinking`);
  if (installed.spec.embeddingOnly) throw new SimError(400, `"${req.model}" does not support chat`);
  const sampling = readOptions(req.options);
  if (messages.length === 0) return loadPlan(ctx, installed, req);
  checkFormat(req.format);
  const templated: TemplateMessage[] = messages.map((m) => ({
    role: (m.role ?? "").toLowerCase(),
    content: m.content ?? "",
    images: m.images?.length,
  }));
  const tools = req.tools !== undefined && req.tools !== null ? JSON.stringify(req.tools) : "";
  const plan = planCompletion(
    ctx,
    installed,
    renderChat(templated, [], tools),
    sampling,
    req.format,
    keepAliveMs(ctx, req.keep_alive),
  );
  return { kind: "complete", plan };
}

/** Runs a load-only request (empty prompt or messages) and answers `body` when the model is ready. */
export function runLoad(
  ctx: EmuContext,
  x: Exchange,
  writer: AnswerWriter,
  plan: Plan & { kind: "load" },
  body: unknown,
): void {
  runJob(ctx, x, writer, { ...plan, sequences: [] }, { done: () => writer.finish([body]) });
}

function created(): string {
  return goTime(Date.now());
}

function decodeOrAnswer(x: Exchange, body: string, schema: typeof GENERATE): InferenceBody | null {
  const d = decodeBody<InferenceBody>(body, schema);
  if (d.ok) return d.value;
  sendJson(x, 400, { error: d.eof ? "missing request body" : d.error });
  return null;
}

function planOrAnswer(x: Exchange, make: () => Plan): Plan | null {
  try {
    return make();
  } catch (err) {
    if (!(err instanceof SimError)) throw err;
    sendJson(x, err.status, { error: err.message });
    return null;
  }
}

/** POST /api/generate. */
export function handleGenerate(ctx: EmuContext, x: Exchange): void {
  const req = decodeOrAnswer(x, x.body, GENERATE);
  const plan = req && planOrAnswer(x, () => planGenerate(ctx, req));
  if (!req || !plan) return;
  const base = { model: req.model, created_at: created(), response: "", done: true };
  if (plan.kind === "unload") {
    ctx.scheduler.expire(plan.installed.spec.name);
    return sendJson(x, 200, { ...base, done_reason: "unload" });
  }
  if (plan.kind === "load") {
    return runLoad(ctx, x, answerWriter(ctx, x, OLLAMA_DIALECT, false), plan, {
      ...base,
      done_reason: "load",
    });
  }
  const stream = req.stream !== false;
  const { gen, prompt } = plan.plan;
  const writer = answerWriter(ctx, x, OLLAMA_DIALECT, stream);
  runJob(
    ctx,
    x,
    writer,
    { ...plan.plan, sequences: [{ prompt: prompt.tokens, output: gen.ids, cache: true }] },
    {
      token: (_s, i) =>
        writer.token({ model: req.model, created_at: created(), response: gen.texts[i], done: false }),
      done: (r) =>
        writer.finish([
          {
            model: req.model,
            created_at: created(),
            response: stream ? "" : gen.texts.join(""),
            done: true,
            done_reason: gen.doneReason,
            ...(req.raw ? {} : { context: [...prompt.tokens, ...gen.ids] }),
            ...metrics(ctx, r),
          },
        ]),
    },
  );
}

/** POST /api/chat. */
export function handleChat(ctx: EmuContext, x: Exchange): void {
  const req = decodeOrAnswer(x, x.body, CHAT);
  const plan = req && planOrAnswer(x, () => planChat(ctx, req));
  if (!req || !plan) return;
  const empty = { role: "assistant", content: "" };
  if (plan.kind === "unload") {
    ctx.scheduler.expire(plan.installed.spec.name);
    return sendJson(x, 200, {
      model: req.model,
      created_at: created(),
      message: empty,
      done_reason: "unload",
      done: true,
    });
  }
  if (plan.kind === "load") {
    const body = { model: req.model, created_at: created(), message: empty, done_reason: "load", done: true };
    return runLoad(ctx, x, answerWriter(ctx, x, OLLAMA_DIALECT, false), plan, body);
  }
  const stream = req.stream !== false;
  const { gen, prompt } = plan.plan;
  const writer = answerWriter(ctx, x, OLLAMA_DIALECT, stream);
  runJob(
    ctx,
    x,
    writer,
    { ...plan.plan, sequences: [{ prompt: prompt.tokens, output: gen.ids, cache: true }] },
    {
      token: (_s, i) =>
        writer.token({
          model: req.model,
          created_at: created(),
          message: { role: "assistant", content: gen.texts[i] },
          done: false,
        }),
      done: (r) =>
        writer.finish([
          {
            model: req.model,
            created_at: created(),
            message: { role: "assistant", content: stream ? "" : gen.texts.join("") },
            done_reason: gen.doneReason,
            done: true,
            ...metrics(ctx, r),
          },
        ]),
    },
  );
}
