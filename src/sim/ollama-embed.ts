/**
 * Ollama's embedding endpoints (routes.go EmbedHandler, EmbeddingsHandler): input checks, truncation
 * to num_ctx, one sequence per input, and the response shapes.
 */
import type { EmuContext } from "./context.js";
import type { JobResult } from "./scheduler-types.js";
import { OLLAMA_DIALECT, sendJson, type AnswerWriter, type Exchange } from "./http-io.js";
import { INVALID_MODEL_NAME, keepAliveMs, parseModelRef, readOptions, runJob } from "./inference.js";
import type { InstalledModel } from "./model-store.js";
import { answerWriter } from "./ollama-api.js";
import { effectiveNumCtx } from "./perf-model.js";
import { decodeBody, EMBED, EMBEDDING, type EmbedBody } from "./request-schemas.js";
import { embedText, embedTextRaw, tokenize } from "./text-model.js";
import { SimError } from "./types.js";

/** EmbedHandler's checks and inputs; throws SimError with Ollama's status and text. */
export function planEmbed(
  ctx: EmuContext,
  req: EmbedBody,
): { installed: InstalledModel; inputs: string[]; numCtx: number } {
  const ref = parseModelRef(req.model);
  if ("error" in ref) {
    throw ref.error === "invalid"
      ? new SimError(400, INVALID_MODEL_NAME)
      : new SimError(404, `model '${req.model ?? ""}' not found`);
  }
  let inputs: string[];
  if (typeof req.input === "string") inputs = req.input.length > 0 ? [req.input] : [];
  else if (Array.isArray(req.input)) {
    if (!req.input.every((v): v is string => typeof v === "string"))
      throw new SimError(400, "invalid input type");
    inputs = req.input;
  } else if (req.input === undefined) inputs = [];
  else throw new SimError(400, "invalid input type");
  const installed = ctx.store.get(ref.name);
  if (!installed) throw new SimError(404, `model "${req.model}" not found, try pulling it first`);
  const numCtx = effectiveNumCtx(readOptions(req.options).numCtx ?? ctx.opts.defaultNumCtx, installed.spec);
  return { installed, inputs, numCtx };
}

/** Runs embeddings for `inputs` (one sequence each, in parallel slots as Ollama's errgroup does). */
export function runEmbed(
  ctx: EmuContext,
  x: Exchange,
  writer: AnswerWriter,
  p: {
    installed: InstalledModel;
    inputs: string[];
    numCtx: number;
    keepAliveMs?: number;
    truncate?: boolean;
    dimensions?: number;
    /** The legacy endpoint: the runner's vector as it is (routes.go EmbeddingsHandler skips normalize). */
    raw?: boolean;
  },
  answer: (vectors: number[][], promptTokens: number, r: JobResult) => unknown,
): void {
  const prompts: number[][] = [];
  for (const text of p.inputs) {
    let tokens = tokenize(text);
    if (tokens.length === 0) tokens = [0];
    if (tokens.length > p.numCtx) {
      if (p.truncate === false) return writer.fail(400, "input exceeds maximum context length");
      tokens = tokens.slice(0, p.numCtx);
    }
    prompts.push(tokens);
  }
  const dim = p.installed.spec.embeddingLength;
  runJob(
    ctx,
    x,
    writer,
    { ...p, sequences: prompts.map((t) => ({ prompt: t, output: [], cache: false })) },
    {
      done: (r) => {
        const vectors = p.inputs.map((text) => {
          if (p.raw) return embedTextRaw(p.installed.digest, text, dim);
          const v = embedText(p.installed.digest, text, dim);
          if (!p.dimensions || p.dimensions <= 0 || p.dimensions >= dim) return v;
          const cut = v.slice(0, p.dimensions);
          const norm = Math.sqrt(cut.reduce((s, a) => s + a * a, 0)) || 1;
          return cut.map((a) => Math.fround(a / norm));
        });
        writer.finish([
          answer(
            vectors,
            prompts.reduce((s, t) => s + t.length, 0),
            r,
          ),
        ]);
      },
    },
  );
}

/** POST /api/embed. */
export function handleEmbed(ctx: EmuContext, x: Exchange): void {
  const d = decodeBody<EmbedBody>(x.body, EMBED);
  if (!d.ok) return sendJson(x, 400, { error: d.eof ? "missing request body" : d.error });
  const req = d.value;
  let p: ReturnType<typeof planEmbed>;
  try {
    p = planEmbed(ctx, req);
  } catch (err) {
    if (err instanceof SimError) return sendJson(x, err.status, { error: err.message });
    throw err;
  }
  const writer = answerWriter(ctx, x, OLLAMA_DIALECT, false);
  const ka = keepAliveMs(ctx, req.keep_alive);
  runEmbed(
    ctx,
    x,
    writer,
    { ...p, keepAliveMs: ka, truncate: req.truncate, dimensions: req.dimensions },
    (vectors, count, r) =>
      vectors.length === 0
        ? { model: req.model, embeddings: [] }
        : {
            model: req.model,
            embeddings: vectors,
            total_duration: Math.max(1, ctx.ns(r.totalMs)),
            load_duration: Math.max(1, ctx.ns(r.loadMs)),
            prompt_eval_count: count,
          },
  );
}

/** POST /api/embeddings (legacy: one prompt, "embedding" of float64s). */
export function handleEmbeddings(ctx: EmuContext, x: Exchange): void {
  const d = decodeBody<EmbedBody>(x.body, EMBEDDING);
  if (!d.ok) return sendJson(x, 400, { error: d.eof ? "missing request body" : d.error });
  const req = d.value;
  const ref = parseModelRef(req.model);
  if ("error" in ref) return sendJson(x, 400, { error: "model is required" });
  const installed = ctx.store.get(ref.name);
  if (!installed) return sendJson(x, 404, { error: `model "${req.model}" not found, try pulling it first` });
  let numCtx: number;
  try {
    numCtx = effectiveNumCtx(readOptions(req.options).numCtx ?? ctx.opts.defaultNumCtx, installed.spec);
  } catch (err) {
    if (err instanceof SimError) return sendJson(x, err.status, { error: err.message });
    throw err;
  }
  const inputs = req.prompt ? [req.prompt] : [];
  const writer = answerWriter(ctx, x, OLLAMA_DIALECT, false);
  runEmbed(
    ctx,
    x,
    writer,
    { installed, inputs, numCtx, keepAliveMs: keepAliveMs(ctx, req.keep_alive), raw: true },
    (vectors) => ({
      embedding: vectors[0] ?? [],
    }),
  );
}
