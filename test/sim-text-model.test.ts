/** The emulated model's text: deterministic answers, prefill continuation, limits, JSON mode, embeddings. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  embedText,
  generate,
  renderChat,
  tokenize,
  truncatePrompt,
  type GenerationInput,
} from "../src/sim/text-model.js";

const base = (over: Partial<GenerationInput> = {}): GenerationInput => ({
  model: "digest",
  prompt: renderChat([{ role: "user", content: "Why is the sky blue?" }]),
  seed: 0,
  temperature: 0.8,
  numPredict: -1,
  stop: [],
  minTokens: 40,
  maxTokens: 60,
  ...over,
});

describe("the emulated model's text", () => {
  it("answers the same inputs with the same tokens, and other inputs differently", () => {
    const a = generate(base());
    assert.deepEqual(generate(base()), a);
    assert.ok(a.texts.length >= 40 && a.texts.length <= 60);
    assert.equal(a.doneReason, "stop");
    assert.notDeepEqual(generate(base({ seed: 1 })).texts, a.texts, "the seed matters at temperature > 0");
    assert.deepEqual(
      generate(base({ temperature: 0, seed: 1 })).texts,
      generate(base({ temperature: 0, seed: 2 })).texts,
    );
    const other = base({ prompt: renderChat([{ role: "user", content: "Why is grass green?" }]) });
    assert.notDeepEqual(generate(other).texts, a.texts);
  });

  it("continues a prefilled assistant message with the rest of the same answer", () => {
    const messages = [{ role: "user", content: "Tell me a story" }];
    const whole = generate(base({ prompt: renderChat(messages) })).texts;
    const cut = 7;
    const partial = whole.slice(0, cut).join("");
    const rest = generate(
      base({ prompt: renderChat([...messages, { role: "assistant", content: partial }]) }),
    ).texts;
    assert.equal(partial + rest.join(""), whole.join(""));
    const prompt = renderChat([...messages, { role: "assistant", content: partial }]);
    assert.equal(prompt.prefilled, cut);
  });

  it("makes a shorter answer a prefix of a longer one, so num_predict only moves the end", () => {
    const short = generate(base({ numPredict: 10 })).texts;
    const long = generate(base({ numPredict: 300 })).texts;
    assert.equal(long.length, 300);
    assert.deepEqual(long.slice(0, 10), short);
    assert.equal(
      generate(base({ numPredict: 300, limit: 50 })).texts.length,
      50,
      "the context window caps it",
    );
  });

  it("stops at num_predict with done_reason length, and at a stop string without emitting it", () => {
    const capped = generate(base({ numPredict: 5 }));
    assert.equal(capped.texts.length, 5);
    assert.equal(capped.doneReason, "length");
    const full = generate(base()).texts;
    const stop = full[10]!.trim().slice(0, 3);
    const stopped = generate(base({ stop: [stop] }));
    const text = stopped.texts.join("");
    assert.ok(!text.includes(stop), `"${text}" should end before "${stop}"`);
    assert.equal(stopped.doneReason, "stop");
    assert.ok(stopped.ids.length <= 11);
  });

  it("writes valid JSON in JSON mode and fills a schema's properties", () => {
    const json = generate(base({ format: "json" }));
    assert.doesNotThrow(() => JSON.parse(json.texts.join("")));
    const schema = { type: "object", properties: { age: { type: "integer" }, ok: { type: "boolean" } } };
    const parsed = JSON.parse(generate(base({ format: schema })).texts.join("")) as Record<string, unknown>;
    assert.equal(typeof parsed.age, "number");
    assert.equal(typeof parsed.ok, "boolean");
  });

  it("renders whole conversations so a longer one extends a shorter one's tokens", () => {
    const one = renderChat([{ role: "user", content: "hi there" }]);
    const two = renderChat([
      { role: "user", content: "hi there" },
      { role: "assistant", content: "hello" },
      { role: "user", content: "more" },
    ]);
    const shared = one.tokens.length - 3; // up to the assistant header
    assert.deepEqual(two.tokens.slice(0, shared), one.tokens.slice(0, shared));
    assert.equal(tokenize("a b  c").length, 3);
    assert.deepEqual(
      truncatePrompt([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 6),
      [1, 2, 3, 4, 10],
      "room for one new token",
    );
  });

  it("embeds texts as deterministic unit vectors where similar texts are closer", () => {
    const v = embedText("m", "the cat sat on the mat", 384);
    assert.equal(v.length, 384);
    assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5);
    assert.deepEqual(embedText("m", "the cat sat on the mat", 384), v);
    const dot = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * b[i]!, 0);
    const near = embedText("m", "the cat sat on a mat", 384);
    const far = embedText("m", "quarterly revenue grew in europe", 384);
    assert.ok(dot(v, near) > dot(v, far) + 0.2, `${dot(v, near)} vs ${dot(v, far)}`);
  });
});
