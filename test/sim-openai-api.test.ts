/** The emulator process through the official `openai` npm client and raw HTTP: the /v1 compatibility API. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { spawnEmulator, type SpawnedEmulator } from "./helpers/spawn-emulator.js";

describe("the emulator's OpenAI-compatible API", () => {
  let emu: SpawnedEmulator;
  let client: OpenAI;
  before(async () => {
    emu = await spawnEmulator(["--time-scale", "100", "--models", "llama3.2:1b,nomic-embed-text"]);
    client = new OpenAI({ baseURL: `${emu.url}/v1`, apiKey: "ollama", maxRetries: 0 });
  });
  after(async () => emu?.stop());

  it("answers a chat completion with the assistant message, finish reason and usage", async () => {
    const res = await client.chat.completions.create({
      model: "llama3.2:1b",
      messages: [{ role: "user", content: "Say hello" }],
      max_tokens: 9,
      temperature: 0,
    });
    assert.match(res.id, /^chatcmpl-\d+$/);
    assert.equal(res.object, "chat.completion");
    assert.equal(res.system_fingerprint, "fp_ollama");
    assert.equal(res.choices[0]?.message.role, "assistant");
    assert.equal(res.choices[0]?.finish_reason, "length");
    assert.equal(res.usage?.completion_tokens, 9);
    assert.equal(res.usage!.total_tokens, res.usage!.prompt_tokens + 9);
  });

  it("streams chat chunks that add up to the same answer, with usage when asked, ending in [DONE]", async () => {
    const body = {
      model: "llama3.2:1b",
      messages: [{ role: "user" as const, content: "Tell me more" }],
      max_tokens: 15,
      seed: 3,
    };
    const whole = await client.chat.completions.create(body);
    const stream = await client.chat.completions.create({
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      assert.equal(chunk.object, "chat.completion.chunk");
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, whole.choices[0]?.message.content);
    assert.equal(finish, "length");
    assert.equal(usage?.completion_tokens, 15);
    const raw = await fetch(`${emu.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ ...body, stream: true }),
    });
    assert.equal(raw.headers.get("content-type"), "text/event-stream");
    const sse = await raw.text();
    assert.ok(sse.endsWith("data: [DONE]\n\n"));
    assert.equal(
      sse.split("\n\n").filter(Boolean).length,
      15 + 2,
      "a chunk per token, the finish chunk, [DONE]",
    );
  });

  it("answers legacy completions, streamed and not", async () => {
    const res = await client.completions.create({
      model: "llama3.2:1b",
      prompt: "Once upon",
      max_tokens: 5,
      seed: 1,
    });
    assert.equal(res.object, "text_completion");
    assert.equal(res.usage?.completion_tokens, 5);
    let text = "";
    for await (const c of await client.completions.create({
      model: "llama3.2:1b",
      prompt: "Once upon",
      max_tokens: 5,
      seed: 1,
      stream: true,
    })) {
      text += c.choices[0]?.text ?? "";
    }
    assert.equal(text, res.choices[0]?.text);
  });

  it("embeds inputs as unit vectors (base64 as the client asks, or floats)", async () => {
    const res = await client.embeddings.create({ model: "nomic-embed-text", input: ["alpha beta", "gamma"] });
    assert.equal(res.object, "list");
    assert.equal(res.data.length, 2);
    const v = res.data[0]!.embedding;
    assert.equal(v.length, 768);
    assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-3);
    assert.equal(res.usage.prompt_tokens, 3);
    const floats = await client.embeddings.create({
      model: "nomic-embed-text",
      input: "alpha beta",
      encoding_format: "float",
    });
    assert.ok(floats.data[0]!.embedding.every((x, i) => Math.abs(x - v[i]!) < 1e-6));
  });

  it("lists the models in OpenAI's shape", async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) {
      assert.equal(m.object, "model");
      assert.equal(m.owned_by, "library");
      ids.push(m.id);
    }
    assert.deepEqual(ids, ["llama3.2:1b", "nomic-embed-text:latest"]);
    const one = await client.models.retrieve("llama3.2:1b");
    assert.equal(one.id, "llama3.2:1b");
  });

  it("answers errors as OpenAI error objects with Ollama's messages", async () => {
    const cases: [string, string, number, string, string][] = [
      [
        "/v1/chat/completions",
        "{bad",
        400,
        "invalid character 'b' looking for beginning of object key string",
        "invalid_request_error",
      ],
      [
        "/v1/chat/completions",
        '{"model":"llama3.2:1b","messages":[]}',
        400,
        "[] is too short - 'messages'",
        "invalid_request_error",
      ],
      [
        "/v1/chat/completions",
        '{"messages":[{"role":"user","content":"x"}]}',
        400,
        "model is required",
        "invalid_request_error",
      ],
      [
        "/v1/chat/completions",
        '{"model":"nope","messages":[{"role":"user","content":"x"}]}',
        404,
        "model 'nope' not found",
        "not_found_error",
      ],
      [
        "/v1/chat/completions",
        '{"model":"llama3.2:1b","messages":[{"role":"user","content":"x"}],"stream":"yes"}',
        400,
        "json: cannot unmarshal string into Go struct field ChatCompletionRequest.stream of type bool",
        "invalid_request_error",
      ],
      ["/v1/embeddings", '{"input":"x"}', 404, "model '' not found", "not_found_error"],
      [
        "/v1/embeddings",
        '{"model":"nope","input":"x"}',
        404,
        'model "nope" not found, try pulling it first',
        "not_found_error",
      ],
      [
        "/v1/embeddings",
        '{"model":"nomic-embed-text","input":[]}',
        400,
        "invalid input",
        "invalid_request_error",
      ],
    ];
    for (const [path, body, status, message, type] of cases) {
      const res = await fetch(`${emu.url}${path}`, { method: "POST", body });
      assert.equal(res.status, status, `${path} ${body}`);
      assert.deepEqual(await res.json(), { error: { message, type, param: null, code: null } });
    }
    await assert.rejects(
      client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }),
      (e: unknown) => e instanceof OpenAI.NotFoundError && e.message.includes("model 'nope' not found"),
    );
  });
});
