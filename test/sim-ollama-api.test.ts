/** The emulator process through the official `ollama` npm client and raw HTTP: Ollama's native API. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Ollama } from "ollama";
import { spawnEmulator, type SpawnedEmulator } from "./helpers/spawn-emulator.js";

async function post(
  url: string,
  path: string,
  body: string | object,
  method = "POST",
): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`${url}${path}`, {
    method,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
}

describe("the emulator's Ollama API", () => {
  let emu: SpawnedEmulator;
  let client: Ollama;
  before(async () => {
    emu = await spawnEmulator([
      "--time-scale",
      "100",
      "--gpu",
      "RTX 4070 Ti:12",
      "--models",
      "llama3.2:1b,llama3.1:8b,nomic-embed-text,qwen2.5:0.5b",
      "--parallel",
      "2",
    ]);
    client = new Ollama({ host: emu.url });
  });
  after(async () => emu?.stop());

  it("lists its models with details and a sha256 digest of the name, the same on every emulator", async () => {
    const { models } = await client.list();
    assert.deepEqual(
      models.map((m) => m.name),
      ["llama3.2:1b", "llama3.1:8b", "nomic-embed-text:latest", "qwen2.5:0.5b"],
    );
    const m = models[0]!;
    assert.equal(m.digest, createHash("sha256").update("llama3.2:1b").digest("hex"));
    assert.equal(m.size, 1.32e9);
    assert.deepEqual(m.details, {
      parent_model: "",
      format: "gguf",
      family: "llama",
      families: ["llama"],
      parameter_size: "1.2B",
      quantization_level: "Q8_0",
    });
    assert.equal((await client.version()).version.length > 0, true);
  });

  it("answers a non-streamed chat with the assistant message and Ollama's statistics", async () => {
    const res = await client.chat({
      model: "llama3.2:1b",
      messages: [{ role: "user", content: "Say hello" }],
      options: { temperature: 0, num_predict: 12 },
    });
    assert.equal(res.message.role, "assistant");
    assert.equal(res.done, true);
    assert.equal(res.done_reason, "length");
    assert.equal(res.eval_count, 12);
    assert.equal(res.message.content.split(" ").length, 12, "one token per word");
    assert.ok(res.prompt_eval_count > 0);
    for (const k of ["total_duration", "load_duration", "prompt_eval_duration", "eval_duration"] as const) {
      assert.ok(res[k] > 0, `${k} = ${res[k]}`);
    }
    assert.ok(res.total_duration >= res.eval_duration + res.prompt_eval_duration);
  });

  it("streams a chat whose parts add up to the non-streamed answer", async () => {
    const request = {
      model: "llama3.2:1b",
      messages: [{ role: "user" as const, content: "Tell me about GPUs" }],
      options: { temperature: 0, num_predict: 20 },
    };
    const whole = await client.chat({ ...request, stream: false });
    let text = "";
    let parts = 0;
    let last: { done: boolean; eval_count?: number; done_reason?: string } | undefined;
    for await (const part of await client.chat({ ...request, stream: true })) {
      text += part.message.content;
      parts++;
      last = part;
    }
    assert.equal(parts, 21, "one line per token plus the final one");
    assert.equal(last?.done, true);
    assert.equal(last?.eval_count, 20);
    assert.equal(text, whole.message.content);
  });

  it("generates with and without streaming, returning context unless raw", async () => {
    const req = {
      model: "llama3.2:1b",
      prompt: "Why is the sky blue?",
      options: { num_predict: 8, seed: 7 },
    };
    const whole = await client.generate(req);
    assert.equal(whole.eval_count, 8);
    assert.ok(Array.isArray(whole.context) && whole.context.length === whole.prompt_eval_count + 8);
    let text = "";
    for await (const part of await client.generate({ ...req, stream: true })) text += part.response;
    assert.equal(text, whole.response);
    const raw = await client.generate({ ...req, raw: true });
    assert.equal(raw.context, undefined);
    assert.notEqual(raw.response, whole.response, "raw skips the template, so the prompt differs");
  });

  it("continues a last assistant message with the rest of the same answer (prefill)", async () => {
    const messages = [{ role: "user", content: "Write a long story" }];
    const options = { temperature: 0, num_predict: 30 };
    const full = (await client.chat({ model: "llama3.2:1b", messages, options })).message.content;
    const pieces = full.match(/\s*\S+/g)!;
    const partial = pieces.slice(0, 10).join("");
    const rest = await client.chat({
      model: "llama3.2:1b",
      messages: [...messages, { role: "assistant", content: partial }],
      options: { ...options, num_predict: 20 },
    });
    assert.equal(partial + rest.message.content, full);
    assert.equal(rest.eval_count, 20);
  });

  it("embeds a batch of inputs as unit vectors, and the legacy endpoint one prompt", async () => {
    const res = await client.embed({ model: "nomic-embed-text", input: ["first text", "second text"] });
    assert.equal(res.embeddings.length, 2);
    for (const v of res.embeddings) {
      assert.equal(v.length, 768);
      assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-3);
    }
    assert.notDeepEqual(res.embeddings[0], res.embeddings[1]);
    assert.equal((res as unknown as { prompt_eval_count: number }).prompt_eval_count, 4);
    const again = await client.embed({ model: "nomic-embed-text", input: "first text" });
    assert.deepEqual(again.embeddings[0], res.embeddings[0], "deterministic");
    const legacy = await client.embeddings({ model: "nomic-embed-text", prompt: "first text" });
    assert.equal(legacy.embedding.length, 768);
    const truncated = await post(emu.url, "/api/embed", {
      model: "nomic-embed-text",
      input: "x ".repeat(3000),
      truncate: false,
    });
    assert.deepEqual(
      [truncated.status, JSON.parse(truncated.text)],
      [400, { error: "input exceeds maximum context length" }],
    );
  });

  it("loads a model on an empty prompt and unloads it with keep_alive 0, as /api/ps shows", async () => {
    const load = await client.generate({ model: "qwen2.5:0.5b", prompt: "" });
    assert.deepEqual([load.done, load.done_reason, load.response], [true, "load", ""]);
    let ps = await client.ps();
    const entry = ps.models.find((m) => m.name === "qwen2.5:0.5b");
    assert.ok(entry, "loaded");
    assert.ok(entry.size_vram > 0 && entry.size === entry.size_vram);
    assert.equal(
      (entry as unknown as { context_length: number }).context_length,
      4096,
      "12 GiB of VRAM: Ollama's 4096 default",
    );
    assert.ok(new Date(entry.expires_at).getTime() > Date.now());
    const unload = await client.chat({ model: "qwen2.5:0.5b", messages: [], keep_alive: 0 });
    assert.deepEqual([unload.done, unload.done_reason, unload.message.role], [true, "unload", "assistant"]);
    ps = await client.ps();
    assert.equal(
      ps.models.find((m) => m.name === "qwen2.5:0.5b"),
      undefined,
    );
  });

  it("shows a model's details, template, model_info and capabilities", async () => {
    const show = await client.show({ model: "llama3.1:8b" });
    assert.equal(show.details.parameter_size, "8.0B");
    assert.match(show.modelfile, /^# Modelfile generated by "ollama show"/);
    assert.match(show.template, /<\|start_header_id\|>/);
    assert.equal((show.model_info as unknown as Record<string, unknown>)["llama.context_length"], 131072);
    assert.deepEqual(show.capabilities, ["completion"]);
  });

  it("pulls a catalog model with streamed progress, then copies and deletes it like Ollama", async () => {
    const statuses: string[] = [];
    let sawBytes = false;
    for await (const p of await client.pull({ model: "all-minilm", stream: true })) {
      statuses.push(p.status);
      if (p.total > 0 && p.completed > 0 && p.digest.startsWith("sha256:")) sawBytes = true;
    }
    assert.equal(statuses[0], "pulling manifest");
    assert.match(statuses[1]!, /^pulling [0-9a-f]{12}$/);
    assert.deepEqual(statuses.slice(-3), ["verifying sha256 digest", "writing manifest", "success"]);
    assert.ok(sawBytes);
    const tags = await client.list();
    const pulled = tags.models.find((m) => m.name === "all-minilm:latest");
    assert.ok(pulled);
    await client.copy({ source: "all-minilm", destination: "minilm-copy" });
    const copy = (await client.list()).models.find((m) => m.name === "minilm-copy:latest");
    assert.equal(copy?.digest, pulled.digest, "a copy shares the manifest digest");
    await client.delete({ model: "minilm-copy" });
    assert.equal(
      (await client.list()).models.some((m) => m.name === "minilm-copy:latest"),
      false,
    );
    const missingCopy = await post(emu.url, "/api/copy", { source: "nope", destination: "x" });
    assert.deepEqual([missingCopy.status, missingCopy.text], [404, '{"error":"model \\"nope\\" not found"}']);
    const missingDelete = await post(emu.url, "/api/delete", { model: "nope" }, "DELETE");
    assert.deepEqual([missingDelete.status, missingDelete.text], [404, `{"error":"model 'nope' not found"}`]);
    const quiet = await client.pull({ model: "all-minilm", stream: false });
    assert.equal(quiet.status, "success");
  });

  it("fails a pull of a name the registry does not have, in the stream and as a 500", async () => {
    await assert.rejects(async () => {
      for await (const _ of await client.pull({ model: "no-such-model", stream: true })) void _;
    }, /^Error: pull model manifest: file does not exist$/);
    const res = await post(emu.url, "/api/pull", { model: "no-such-model", stream: false });
    assert.deepEqual([res.status, res.text], [500, '{"error":"pull model manifest: file does not exist"}']);
  });

  it("answers bad requests with Ollama's statuses and texts", async () => {
    const cases: [string, string, number, string][] = [
      [
        "/api/chat",
        "{bad",
        400,
        `{"error":"invalid character 'b' looking for beginning of object key string"}`,
      ],
      ["/api/generate", "", 400, '{"error":"missing request body"}'],
      [
        "/api/generate",
        '{"model":5}',
        400,
        '{"error":"json: cannot unmarshal number into Go struct field GenerateRequest.model of type string"}',
      ],
      ["/api/chat", '{"messages":[]}', 400, '{"error":"model is required"}'],
      ["/api/generate", "{}", 404, `{"error":"model '' not found"}`],
      ["/api/generate", '{"model":"nope"}', 404, `{"error":"model 'nope' not found"}`],
      ["/api/chat", '{"model":"nope","messages":[]}', 404, `{"error":"model 'nope' not found"}`],
      [
        "/api/embed",
        '{"model":"nope","input":"x"}',
        404,
        '{"error":"model \\"nope\\" not found, try pulling it first"}',
      ],
      ["/api/embeddings", '{"prompt":"x"}', 400, '{"error":"model is required"}'],
      ["/api/show", '{"model":"nope"}', 404, `{"error":"model 'nope' not found"}`],
      [
        "/api/generate",
        '{"model":"nomic-embed-text","prompt":"x"}',
        400,
        '{"error":"\\"nomic-embed-text\\" does not support generate"}',
      ],
      [
        "/api/chat",
        '{"model":"llama3.2:1b","messages":[],"think":true}',
        400,
        '{"error":"\\"llama3.2:1b\\" does not support thinking"}',
      ],
      [
        "/api/generate",
        '{"model":"llama3.2:1b","prompt":"x","keep_alive":"soon"}',
        400,
        '{"error":"time: invalid duration \\"soon\\""}',
      ],
      [
        "/api/generate",
        '{"model":"llama3.2:1b","prompt":"x","options":{"num_predict":"3"}}',
        500,
        `{"error":"option \\"num_predict\\" must be of type integer"}`,
      ],
    ];
    for (const [path, body, status, text] of cases) {
      const res = await post(emu.url, path, body);
      assert.deepEqual(
        [res.status, res.text, res.type],
        [status, text, "application/json; charset=utf-8"],
        `${path} ${body}`,
      );
    }
    const unknown = await fetch(`${emu.url}/api/nothing`);
    assert.deepEqual(
      [unknown.status, await unknown.text(), unknown.headers.get("content-type")],
      [404, "404 page not found", "text/plain"],
    );
    const wrong = await fetch(`${emu.url}/api/chat`);
    assert.deepEqual([wrong.status, await wrong.text()], [405, "405 method not allowed"]);
    const head = await fetch(`${emu.url}/`, { method: "HEAD" });
    assert.equal(head.status, 200);
  });

  it("reuses the prompt cache: prompt_eval_count stays whole while prompt_eval_duration shrinks", async () => {
    await emu.resetStats();
    const system = { role: "system", content: "You are a careful assistant. ".repeat(200) };
    const ask = (q: string) =>
      client.chat({
        model: "llama3.2:1b",
        messages: [system, { role: "user", content: q }],
        options: { num_predict: 2 },
      });
    const cold = await ask("first question");
    const warm = await ask("second question here");
    assert.ok(warm.prompt_eval_count > 1000 && warm.prompt_eval_count === cold.prompt_eval_count + 1);
    assert.ok(
      warm.prompt_eval_duration * 20 < cold.prompt_eval_duration,
      `${warm.prompt_eval_duration} vs ${cold.prompt_eval_duration}`,
    );
    const s = await emu.stats();
    assert.ok(s.prefillTokensReused >= 1000, `reused ${s.prefillTokensReused}`);
  });

  it("decodes a bigger model more slowly, at the GPU's modelled rate", async () => {
    const rate = async (model: string): Promise<number> => {
      const r = await client.generate({ model, prompt: "count to fifty", options: { num_predict: 40 } });
      return r.eval_count / r.eval_duration;
    };
    const smallRate = await rate("llama3.2:1b");
    const bigRate = await rate("llama3.1:8b");
    assert.ok(smallRate > 3 * bigRate, `${smallRate} vs ${bigRate}`);
    // 504 GB/s × 0.6 ÷ 4.92 GB ≈ 61 tokens/s, shown 100× faster by --time-scale 100.
    const tokensPerSecond = bigRate * 1e9;
    assert.ok(Math.abs(tokensPerSecond - 6146) / 6146 < 0.05, `${tokensPerSecond}`);
  });
});
