// Which requests may share one upstream call, and when two requests count as identical.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { coalesceKeyOf } from "../src/http/coalesce-key.js";
import { parseInference, type InferenceEndpoint } from "../src/http/request-body.js";

function key(endpoint: InferenceEndpoint, body: unknown): string | undefined {
  return coalesceKeyOf(endpoint, parseInference(endpoint, Buffer.from(JSON.stringify(body))));
}

const chat = { model: "m", messages: [{ role: "user", content: "hi" }] };

describe("coalescing key", () => {
  it("shares only deterministic generations: temperature 0 or a fixed seed", () => {
    assert.ok(key("chat", { ...chat, options: { temperature: 0 } }));
    assert.ok(key("chat", { ...chat, options: { seed: 7, temperature: 0.8 } }));
    assert.ok(key("generate", { model: "m", prompt: "p", options: { seed: 0 } }));
    assert.ok(key("openai_chat", { ...chat, temperature: 0 }));
    assert.ok(key("openai_completions", { model: "m", prompt: "p", seed: 3 }));
    assert.equal(key("chat", chat), undefined, "the model's default temperature samples");
    assert.equal(key("chat", { ...chat, options: { temperature: 0.2 } }), undefined);
    assert.equal(
      key("chat", { ...chat, options: { seed: -1 } }),
      undefined,
      "seed -1 is Ollama's random seed",
    );
    assert.equal(
      key("chat", { ...chat, temperature: 0 }),
      undefined,
      "Ollama reads temperature from options",
    );
    assert.equal(key("openai_chat", chat), undefined, "Ollama's OpenAI layer defaults to temperature 1");
  });

  it("always shares embeddings of every dialect", () => {
    assert.ok(key("embed", { model: "m", input: "x" }));
    assert.ok(key("embeddings", { model: "m", prompt: "x" }));
    assert.ok(key("openai_embeddings", { model: "m", input: "x" }));
  });

  it("treats bodies that differ only in key order or in Ollama's default stream as identical", () => {
    const a = key("chat", { ...chat, options: { temperature: 0, seed: 1 } });
    const b = key("chat", {
      options: { seed: 1, temperature: 0 },
      stream: true,
      messages: chat.messages,
      model: "m",
    });
    assert.equal(a, b);
  });

  it("keeps apart endpoints, stream and non-stream answers, and any other difference in the body", () => {
    const det = { ...chat, options: { temperature: 0 } };
    const keys = [
      key("chat", det),
      key("chat", { ...det, stream: false }),
      key("generate", { model: "m", prompt: "hi", options: { temperature: 0 } }),
      key("openai_chat", { ...chat, temperature: 0 }),
      key("openai_chat", { ...chat, temperature: 0, stream: true }),
      key("chat", { ...det, keep_alive: 0 }),
      key("chat", { ...det, model: "m:latest" }),
    ];
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(
      key("openai_chat", { ...chat, temperature: 0, stream_options: { include_usage: true } }),
      key("openai_chat", { ...chat, temperature: 0 }),
      "stream_options mean nothing to a whole answer",
    );
  });
});
