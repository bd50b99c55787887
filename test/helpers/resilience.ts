/** Helpers of the end-to-end resilience suite: request bodies, stream readers, admin and metrics reads. */
import assert from "node:assert/strict";
import type { FleetConfig } from "../../src/config/schema.js";
import type { FleetFixture } from "./gateway-fixture.js";

/** The one small model every resilience fleet serves ("name:tag:sizeGB:paramsB"). */
export const MODEL = "llama3.2:1b";
export const MODEL_ARGS = ["--models", "llama3.2:1b:1.3:1.2"];

type Json = Record<string, unknown>;

/** An Ollama /api/chat body with a fixed seed, so every instance gives the same answer. */
export function chatBody(prompt: string, numPredict: number, extra: Json = {}): Json {
  return {
    model: MODEL,
    messages: [{ role: "user", content: prompt }],
    options: { num_predict: numPredict, seed: 7 },
    ...extra,
  };
}

/** An Ollama /api/generate body with a fixed seed. */
export function generateBody(prompt: string, numPredict: number, extra: Json = {}): Json {
  return { model: MODEL, prompt, options: { num_predict: numPredict, seed: 7 }, ...extra };
}

/** An OpenAI /v1/chat/completions body with a fixed seed. */
export function openAiChatBody(prompt: string, maxTokens: number, extra: Json = {}): Json {
  return {
    model: MODEL,
    messages: [{ role: "user", content: prompt }],
    max_tokens: maxTokens,
    seed: 7,
    ...extra,
  };
}

/** POSTs JSON to `base + path`. */
export function post(
  base: string,
  path: string,
  body: unknown,
  init: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", ...init.headers },
    ...(init.signal ? { signal: init.signal } : {}),
  });
}

/** A streamed NDJSON answer read whole: every line parsed (a torn line fails the test). */
export interface NdjsonAnswer {
  instance: string | null;
  lines: Json[];
  /** Concatenated `message.content` (chat) or `response` (generate). */
  text: string;
  last: Json | undefined;
}

/** Parses one NDJSON line, failing with the raw text when it is torn. */
function parseLine(raw: string): Json {
  try {
    return JSON.parse(raw) as Json;
  } catch {
    assert.fail(`torn or invalid NDJSON line: ${JSON.stringify(raw.slice(0, 200))}`);
  }
}

/** Text a chat or generate chunk carries. */
export function chunkText(line: Json): string {
  const message = line.message as { content?: unknown } | undefined;
  if (message && typeof message.content === "string") return message.content;
  return typeof line.response === "string" ? line.response : "";
}

/**
 * Reads an NDJSON stream. `onLine` sees each parsed line as it arrives (to act mid-stream). The body
 * must end with a newline: a last line without one is a torn line.
 */
export async function readNdjson(
  res: Response,
  onLine?: (line: Json, index: number) => void,
): Promise<NdjsonAnswer> {
  assert.equal(res.status, 200, `stream answered ${res.status}`);
  const instance = res.headers.get("x-ollama-fleet-instance");
  const decoder = new TextDecoder();
  const lines: Json[] = [];
  let buffered = "";
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const raw = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (raw.trim() === "") continue;
      const line = parseLine(raw);
      lines.push(line);
      onLine?.(line, lines.length - 1);
    }
  }
  buffered += decoder.decode();
  assert.equal(
    buffered.trim(),
    "",
    `the stream ended inside a line: ${JSON.stringify(buffered.slice(0, 200))}`,
  );
  return { instance, lines, text: lines.map(chunkText).join(""), last: lines.at(-1) };
}

/** A streamed SSE answer read whole. */
export interface SseAnswer {
  instance: string | null;
  /** Parsed `data:` payloads, `[DONE]` excluded. */
  events: Json[];
  /** Whether the last event was `data: [DONE]`. */
  endedWithDone: boolean;
  text: string;
}

/** Reads an SSE stream of OpenAI chat chunks; `onEvent` sees each as it arrives. */
export async function readSse(
  res: Response,
  onEvent?: (event: Json, index: number) => void,
): Promise<SseAnswer> {
  assert.equal(res.status, 200, `stream answered ${res.status}`);
  const instance = res.headers.get("x-ollama-fleet-instance");
  const decoder = new TextDecoder();
  const events: Json[] = [];
  let buffered = "";
  let endedWithDone = false;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let sep: number;
    while ((sep = buffered.indexOf("\n\n")) >= 0) {
      const block = buffered.slice(0, sep);
      buffered = buffered.slice(sep + 2);
      const data = block
        .split("\n")
        .filter((l) => l.startsWith("data: "))
        .map((l) => l.slice(6))
        .join("\n");
      if (data === "") continue;
      assert.equal(endedWithDone, false, "an event came after data: [DONE]");
      if (data === "[DONE]") {
        endedWithDone = true;
        continue;
      }
      const event = parseLine(data);
      events.push(event);
      onEvent?.(event, events.length - 1);
    }
  }
  assert.equal(
    buffered.trim(),
    "",
    `the stream ended inside an event: ${JSON.stringify(buffered.slice(0, 200))}`,
  );
  const text = events
    .map((e) => {
      const choice = (e.choices as { delta?: { content?: unknown } }[] | undefined)?.[0];
      return typeof choice?.delta?.content === "string" ? choice.delta.content : "";
    })
    .join("");
  return { instance, events, endedWithDone, text };
}

/** The whole (non-streamed) answer of an emulator asked directly: the deterministic reference. */
export async function directAnswer(emulatorUrl: string, path: string, body: Json): Promise<Json> {
  const res = await post(emulatorUrl, path, { ...body, stream: false });
  assert.equal(res.status, 200, `direct ${path} answered ${res.status}`);
  return (await res.json()) as Json;
}

/** Text of a whole chat, generate or OpenAI chat answer. */
export function answerText(answer: Json): string {
  const choices = answer.choices as { message?: { content?: string } }[] | undefined;
  if (choices) return choices[0]?.message?.content ?? "";
  return chunkText(answer);
}

/** One instance as GET /fleet/instances lists it (the fields these tests read). */
export interface AdminInstance {
  id: string;
  health: string;
  breaker: string;
  state: string;
  draining: boolean;
  inFlight: number;
  healthDetail: { consecutiveFailures: number; consecutiveSuccesses: number; totalFailures: number };
  breakerDetail: { state: string; consecutiveFailures: number; opens: number; trialInFlight: boolean };
  performance?: { models?: { model: string; tokensPerSecond?: number }[] } & Json;
}

/** GET /fleet/instances (no admin key configured: loopback is allowed). */
export async function adminInstances(fleet: FleetFixture): Promise<{
  instances: AdminInstance[];
  queue: {
    depth: number;
    capacity: number;
    byModel: Record<string, Record<string, number>>;
    rejectedTotal: Record<string, number>;
  };
}> {
  const res = await fetch(`${fleet.url}/fleet/instances`);
  assert.equal(res.status, 200);
  return (await res.json()) as Awaited<ReturnType<typeof adminInstances>>;
}

/** The value of one Prometheus sample, or undefined when absent. */
export async function metricValue(
  fleet: FleetFixture,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const text = await (await fetch(`${fleet.url}/metrics`)).text();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.indexOf("} ");
    const labelText = line.slice(name.length + 1, close);
    const got = Object.fromEntries(
      [...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(line.slice(close + 2));
  }
  return undefined;
}

/** Loads the model on every emulator (a direct one-token request), then lets the gateway see it loaded. */
export async function preloadEverywhere(fleet: FleetFixture): Promise<void> {
  await Promise.all(
    fleet.emulators.map((e) => directAnswer(e.url, "/api/generate", generateBody("warm up", 1))),
  );
  await fleet.gateway.fleet.refreshAll();
  for (const i of fleet.gateway.fleet.instances())
    assert.ok(i.isLoaded(MODEL), `${i.id} did not load ${MODEL}`);
  await Promise.all(fleet.emulators.map((e) => e.resetStats()));
}

/** Inference requests an emulator received on one endpoint since its last stats reset. */
export async function served(
  emulator: FleetFixture["emulators"][number],
  path = "/api/chat",
): Promise<number> {
  return (await emulator.stats()).requests.byEndpoint[path] ?? 0;
}

/** The p-th percentile (0..100) of a sample, nearest rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? NaN;
}

/** Runs `count` tasks with at most `concurrency` at once, results in task order. */
export async function pool<T>(
  count: number,
  concurrency: number,
  task: (n: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const n = next++;
        results[n] = await task(n);
      }
    }),
  );
  return results;
}

/**
 * Keeps health checks, the breaker and inventory refreshes out of the way of tests that inject faults on
 * purpose (a fault must not take the instance out of rotation before the behaviour under test happens).
 */
export function quietGuards(c: FleetConfig): void {
  c.loadBalancing.unhealthyThreshold = 100;
  c.loadBalancing.circuitBreakerThreshold = 100;
  c.gateway.inventoryRefreshSeconds = 3600;
  c.loadBalancing.healthCheckIntervalSeconds = 3600;
}
