/** The official `ollama` npm client, pointed at the gateway in front of two emulator processes. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Ollama } from "ollama";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";

describe("the gateway through the official ollama client", () => {
  let fleet: FleetFixture;
  let client: Ollama;

  before(async () => {
    fleet = await startFleet([
      {
        args: ["--gpu", "RTX 3060 Ti:8", "--models", "llama3.2:1b:1.3:1.2,nomic-embed-text:latest:0.27:0.14"],
      },
      { args: ["--gpu", "RTX 4070 Ti:12", "--models", "llama3.2:1b:1.3:1.2,qwen2.5:0.5b:0.4:0.5"] },
    ]);
    client = new Ollama({ host: fleet.url });
  });
  after(async () => fleet?.close());

  it("lists the union of every instance's models, each name once", async () => {
    const { models } = await client.list();
    const names = models.map((m) => m.name).sort();
    assert.deepEqual(names, ["llama3.2:1b", "nomic-embed-text:latest", "qwen2.5:0.5b"]);
    for (const m of models) {
      assert.match(m.digest, /^[0-9a-f]{64}$/);
      assert.ok(m.size > 0);
    }
  });

  it("answers a non-streamed chat with the assistant's message and Ollama's statistics", async () => {
    const res = await client.chat({
      model: "llama3.2:1b",
      messages: [{ role: "user", content: "Say hello" }],
      options: { temperature: 0, num_predict: 12 },
    });
    assert.equal(res.message.role, "assistant");
    assert.ok(res.message.content.length > 0);
    assert.equal(res.done, true);
    assert.equal(res.eval_count, 12);
    assert.ok(res.prompt_eval_count > 0);
    assert.ok(res.total_duration > 0);
  });

  it("streams a chat whose pieces add up to the same deterministic answer", async () => {
    const request = {
      model: "llama3.2:1b",
      messages: [{ role: "user", content: "Tell me about GPUs" }],
      options: { temperature: 0, num_predict: 20 },
    };
    const whole = await client.chat({ ...request, stream: false });
    const stream = await client.chat({ ...request, stream: true });
    let text = "";
    let parts = 0;
    let last: { done: boolean; eval_count?: number } | undefined;
    for await (const part of stream) {
      text += part.message.content;
      parts++;
      last = part;
    }
    assert.ok(parts > 2, `expected several streamed parts, got ${parts}`);
    assert.equal(last?.done, true);
    assert.equal(last?.eval_count, 20);
    assert.equal(text, whole.message.content);
  });

  it("generates with and without streaming", async () => {
    const whole = await client.generate({
      model: "llama3.2:1b",
      prompt: "Why is the sky blue?",
      options: { num_predict: 8, seed: 7 },
    });
    assert.ok((whole.response ?? "").length > 0);
    assert.equal(whole.done, true);
    assert.equal(whole.eval_count, 8);
    const stream = await client.generate({
      model: "llama3.2:1b",
      prompt: "Why is the sky blue?",
      options: { num_predict: 8, seed: 7 },
      stream: true,
    });
    let text = "";
    for await (const part of stream) text += part.response;
    assert.equal(text, whole.response);
  });

  it("embeds a batch of inputs as unit vectors, one per input", async () => {
    const res = await client.embed({ model: "nomic-embed-text", input: ["first text", "second text"] });
    assert.equal(res.embeddings.length, 2);
    for (const v of res.embeddings) {
      assert.ok(v.length > 0);
      const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
      assert.ok(Math.abs(norm - 1) < 1e-3, `norm ${norm}`);
    }
    assert.notDeepEqual(res.embeddings[0], res.embeddings[1]);
  });

  it("lists loaded models with the instance that holds each one", async () => {
    await client.generate({ model: "qwen2.5:0.5b", prompt: "hi", options: { num_predict: 1 } });
    const ps = await client.ps();
    const entry = ps.models.find((m) => m.name === "qwen2.5:0.5b") as (typeof ps.models)[number] & {
      instance?: string;
    };
    assert.ok(entry, "qwen2.5:0.5b should be loaded");
    assert.equal(entry.instance, fleet.gateway.fleet.instances()[1]?.id);
    assert.ok(entry.size_vram > 0);
  });

  it("shows a model from an instance that has it", async () => {
    const show = await client.show({ model: "qwen2.5:0.5b" });
    assert.ok(show.details.family.length > 0);
    assert.ok(show.details.parameter_size.length > 0);
    assert.ok(typeof show.modelfile === "string");
  });

  it("pulls a model onto every instance with merged progress, then copies and deletes it", async () => {
    const progress = await client.pull({ model: "all-minilm", stream: true });
    const statuses: string[] = [];
    let sawBytes = false;
    for await (const p of progress) {
      statuses.push(p.status);
      if (p.total > 0 && p.completed >= 0) sawBytes = true;
    }
    assert.equal(statuses.at(-1), "success");
    assert.ok(statuses.includes("pulling manifest"));
    assert.ok(sawBytes, "progress should report bytes");
    for (const e of fleet.emulators) {
      const tags = (await (await fetch(`${e.url}/api/tags`)).json()) as { models: { name: string }[] };
      assert.ok(
        tags.models.some((m) => m.name === "all-minilm:latest"),
        `pulled onto ${e.url}`,
      );
    }

    await client.copy({ source: "all-minilm", destination: "minilm-copy" });
    assert.ok((await client.list()).models.some((m) => m.name === "minilm-copy:latest"));
    await client.delete({ model: "minilm-copy" });
    await client.delete({ model: "all-minilm" });
    const names = (await client.list()).models.map((m) => m.name);
    assert.ok(!names.includes("minilm-copy:latest") && !names.includes("all-minilm:latest"));
  });

  it("reports a failed pull in the stream, as Ollama does", async () => {
    await assert.rejects(async () => {
      for await (const _ of await client.pull({ model: "no-such-model-anywhere", stream: true })) {
        // drain
      }
    }, /file does not exist|not found/);
  });
});
