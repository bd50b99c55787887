/** The official `openai` npm client, pointed at the gateway's OpenAI-compatible endpoints. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";

describe("the gateway through the official openai client", () => {
  let fleet: FleetFixture;
  let client: OpenAI;

  before(async () => {
    fleet = await startFleet([
      {
        args: ["--gpu", "RTX 3060 Ti:8", "--models", "llama3.2:1b:1.3:1.2,nomic-embed-text:latest:0.27:0.14"],
      },
      { args: ["--gpu", "RTX 4070 Ti:12", "--models", "llama3.2:1b:1.3:1.2"] },
    ]);
    client = new OpenAI({ baseURL: `${fleet.url}/v1`, apiKey: "ollama", maxRetries: 0 });
  });
  after(async () => fleet?.close());

  it("answers a chat completion with the assistant's message and usage", async () => {
    const res = await client.chat.completions.create({
      model: "llama3.2:1b",
      messages: [{ role: "user", content: "Hello there" }],
      max_tokens: 10,
      temperature: 0,
    });
    assert.equal(res.object, "chat.completion");
    assert.equal(res.choices[0]?.message.role, "assistant");
    assert.ok((res.choices[0]?.message.content ?? "").length > 0);
    assert.equal(res.usage?.completion_tokens, 10);
    assert.ok((res.usage?.prompt_tokens ?? 0) > 0);
  });

  it("streams a chat completion as server-sent chunks that add up to the whole answer", async () => {
    const params = {
      model: "llama3.2:1b",
      messages: [{ role: "user" as const, content: "Count to five" }],
      max_tokens: 15,
      temperature: 0,
    };
    const whole = await client.chat.completions.create(params);
    const stream = await client.chat.completions.create({
      ...params,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined | null;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(chunks > 2);
    assert.equal(text, whole.choices[0]?.message.content);
    assert.equal(finish, "length");
    assert.equal(usage?.completion_tokens, 15);
  });

  it("completes a plain prompt", async () => {
    const res = await client.completions.create({
      model: "llama3.2:1b",
      prompt: "Once upon a time",
      max_tokens: 5,
    });
    assert.equal(res.object, "text_completion");
    assert.ok((res.choices[0]?.text ?? "").length > 0);
  });

  it("creates embeddings for several inputs", async () => {
    const res = await client.embeddings.create({ model: "nomic-embed-text", input: ["a", "b", "c"] });
    assert.equal(res.data.length, 3);
    assert.deepEqual(
      res.data.map((d) => d.index),
      [0, 1, 2],
    );
    assert.ok((res.data[0]?.embedding.length ?? 0) > 0);
  });

  it("lists and retrieves models from the union of instances", async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.deepEqual(ids.sort(), ["llama3.2:1b", "nomic-embed-text:latest"]);
    const one = await client.models.retrieve("llama3.2:1b");
    assert.equal(one.id, "llama3.2:1b");
    await assert.rejects(
      client.models.retrieve("nope:1b"),
      (err: unknown) => err instanceof OpenAI.NotFoundError,
    );
  });

  it("answers an unknown model with a 404 OpenAI error object", async () => {
    await assert.rejects(
      client.chat.completions.create({ model: "missing-model", messages: [{ role: "user", content: "x" }] }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.NotFoundError);
        assert.match(err.message, /missing-model/);
        return true;
      },
    );
  });
});
