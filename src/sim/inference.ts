/**
 * What generate, chat and their OpenAI twins share: reading model options like api.Options.FromMap,
 * resolving the model name, building the prompt and answer, and running the job on the scheduler.
 */
import { normalizeModelName } from "./catalog.js";
import type { EmuContext } from "./context.js";
import { decodeKeepAlive } from "./go-compat.js";
import type { JobListener, JobResult } from "./scheduler-types.js";
import type { AnswerWriter, Exchange } from "./http-io.js";
import type { InstalledModel } from "./model-store.js";
import { effectiveNumCtx } from "./perf-model.js";
import { generate, truncatePrompt, type Generation, type RenderedPrompt } from "./text-model.js";
import { SimError } from "./types.js";

/** The sampling options the emulator honours, after FromMap's type checks. */
export interface Sampling {
  numPredict: number;
  seed?: number;
  temperature: number;
  numCtx?: number;
  stop: string[];
}

const INT_OPTIONS = new Set([
  "num_keep",
  "seed",
  "num_predict",
  "top_k",
  "repeat_last_n",
  "mirostat",
  "num_ctx",
  "num_batch",
  "num_gpu",
  "main_gpu",
  "num_thread",
]);
const FLOAT_OPTIONS = new Set([
  "top_p",
  "min_p",
  "typical_p",
  "temperature",
  "repeat_penalty",
  "presence_penalty",
  "frequency_penalty",
  "mirostat_tau",
  "mirostat_eta",
  "tfs_z",
]);
const BOOL_OPTIONS = new Set([
  "numa",
  "low_vram",
  "vocab_only",
  "use_mmap",
  "use_mlock",
  "penalize_newline",
  "f16_kv",
  "logits_all",
]);

/** api.Options.FromMap over Ollama's defaults; a wrong type is a 500, as handleScheduleError answers it. */
export function readOptions(map: Record<string, unknown> | undefined): Sampling {
  const s: Sampling = { numPredict: -1, temperature: 0.8, stop: [] };
  for (const [key, val] of Object.entries(map ?? {})) {
    if (val === null || val === undefined) continue;
    if (INT_OPTIONS.has(key)) {
      if (typeof val !== "number") throw new SimError(500, `option "${key}" must be of type integer`);
      const n = Math.trunc(val);
      if (key === "num_predict") s.numPredict = n;
      else if (key === "seed") s.seed = n;
      else if (key === "num_ctx") s.numCtx = n;
    } else if (FLOAT_OPTIONS.has(key)) {
      if (typeof val !== "number") throw new SimError(500, `option "${key}" must be of type float32`);
      if (key === "temperature") s.temperature = val;
    } else if (BOOL_OPTIONS.has(key)) {
      if (typeof val !== "boolean") throw new SimError(500, `option "${key}" must be of type boolean`);
    } else if (key === "stop") {
      if (!Array.isArray(val)) throw new SimError(500, `option "stop" must be of type array`);
      if (!val.every((v): v is string => typeof v === "string")) {
        throw new SimError(500, `option "stop" must be of an array of strings`);
      }
      s.stop = val;
    }
  }
  return s;
}

/** modelref.ParseRef plus model.ParseName: the normalized name, or why there is none. */
export function parseModelRef(raw: string | undefined): { name: string } | { error: "required" | "invalid" } {
  const trimmed = (raw ?? "").trim();
  if (trimmed === "") return { error: "required" };
  const name = normalizeModelName(trimmed);
  return name === null ? { error: "invalid" } : { name };
}

/** errtypes.InvalidModelNameErrMsg. */
export const INVALID_MODEL_NAME = "invalid model name";

/** keep_alive in model milliseconds (undefined when absent); decoding already checked the type. */
export function keepAliveMs(ctx: EmuContext, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const r = decodeKeepAlive(v);
  if ("error" in r) return undefined;
  // A request's keep_alive is a duration of the emulated world: it runs time-scaled like the rest.
  return Number.isFinite(r.ns) ? r.ns / 1e6 : Infinity;
}

/** Whether a `think` value asks for thinking (true, or a level string). */
export function wantsThinking(think: unknown): boolean {
  return think === true || (typeof think === "string" && think !== "" && think !== "false");
}

/** The `format` check of the runner's Completion: "json", a schema object, or nothing. */
export function checkFormat(format: unknown): void {
  if (format === undefined || format === "" || format === "json") return;
  if (typeof format === "object" && !Array.isArray(format)) return;
  const raw = JSON.stringify(format);
  throw new SimError(
    500,
    `invalid format: ${JSON.stringify(raw)}; expected "json" or a valid JSON Schema object`,
  );
}

/** A generation request, ready for the scheduler. */
export interface CompletionPlan {
  installed: InstalledModel;
  numCtx: number;
  keepAliveMs?: number;
  prompt: RenderedPrompt;
  gen: Generation;
}

/** Builds the answer a model gives to a rendered prompt under the request's options. */
export function planCompletion(
  ctx: EmuContext,
  installed: InstalledModel,
  prompt: RenderedPrompt,
  sampling: Sampling,
  format: unknown,
  keepAlive: number | undefined,
): CompletionPlan {
  const numCtx = effectiveNumCtx(sampling.numCtx ?? ctx.opts.defaultNumCtx, installed.spec);
  const tokens = truncatePrompt(prompt.tokens, numCtx);
  const gen = generate({
    model: installed.digest,
    prompt,
    seed: sampling.seed ?? ctx.opts.seed,
    temperature: sampling.temperature,
    numPredict: sampling.numPredict,
    stop: sampling.stop,
    format,
    minTokens: ctx.opts.outputTokens.min,
    maxTokens: ctx.opts.outputTokens.max,
    // The runner stops at the context window (no context shift here).
    limit: Math.max(1, numCtx - tokens.length),
  });
  return { installed, numCtx, keepAliveMs: keepAlive, prompt: { ...prompt, tokens }, gen };
}

/** Ollama's timing fields of a finished request, in nanoseconds, zeros left out (omitempty). */
export function metrics(ctx: EmuContext, r: JobResult): Record<string, number> {
  const seq = r.sequences[0];
  const out: Record<string, number> = {
    total_duration: Math.max(1, ctx.ns(r.totalMs)),
    load_duration: Math.max(1, ctx.ns(r.loadMs)),
    prompt_eval_count: seq?.promptEvalCount ?? 0,
    prompt_eval_duration: seq ? Math.max(1, ctx.ns(seq.promptEvalMs)) : 0,
    eval_count: seq?.evalCount ?? 0,
    eval_duration: seq && seq.evalCount > 0 ? Math.max(1, ctx.ns(seq.evalMs)) : 0,
  };
  for (const k of Object.keys(out)) if (out[k] === 0) delete out[k];
  return out;
}

/** Submits a completion (or, with no plan, a load) and wires the writer, abort and errors. */
export function runJob(
  ctx: EmuContext,
  x: Exchange,
  writer: AnswerWriter,
  spec: {
    installed: InstalledModel;
    numCtx: number;
    keepAliveMs?: number;
    sequences: { prompt: number[]; output: number[]; cache: boolean }[];
  },
  sink: { token?(sequence: number, index: number): void; done(result: JobResult): void },
): void {
  writer.begin();
  if (!writer.alive) return;
  ctx.stats.modelRequest(spec.installed.spec.name);
  const listener: JobListener = {
    onToken: (s, i) => sink.token?.(s, i),
    onDone: (r) => sink.done(r),
    onError: (err) => writer.fail(err.status, err.message),
  };
  try {
    const job = ctx.scheduler.submit(
      {
        model: spec.installed.spec,
        numCtx: spec.numCtx,
        keepAliveMs: spec.keepAliveMs,
        sequences: spec.sequences.map((s) => ({
          promptTokens: s.prompt,
          outputTokens: s.output,
          usePromptCache: s.cache,
        })),
      },
      listener,
    );
    x.onAbort(() => job.cancel());
    writer.attach(() => job.cancel());
  } catch (err) {
    if (err instanceof SimError) writer.fail(err.status, err.message);
    else throw err;
  }
}
