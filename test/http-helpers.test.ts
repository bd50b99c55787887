/** Pure helpers of the HTTP edge: model names, versions, answer statistics, pull progress merging. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AnswerTail } from "../src/http/answer-tail.js";
import { compareVersions } from "../src/http/ollama/info-routes.js";
import { ProgressMerger } from "../src/http/ollama/progress-merge.js";
import { parseInference } from "../src/http/request-body.js";
import { normalizeModelName } from "../src/util/model-name.js";

describe("normalizeModelName", () => {
  it("adds the implicit latest tag and ignores case", () => {
    assert.equal(normalizeModelName("Llama3"), "llama3:latest");
    assert.equal(normalizeModelName("llama3:8b"), "llama3:8b");
    assert.equal(
      normalizeModelName("registry.local:5000/team/model"),
      "registry.local:5000/team/model:latest",
    );
  });
});

describe("compareVersions", () => {
  it("orders numerically, not as text", () => {
    assert.ok(compareVersions("0.5.10", "0.5.9") > 0);
    assert.deepEqual(["0.12.0", "0.5.1", "0.11.4"].sort(compareVersions), ["0.5.1", "0.11.4", "0.12.0"]);
  });
});

describe("AnswerTail", () => {
  it("reads Ollama's final statistics from the last NDJSON line of a long stream", () => {
    const tail = new AnswerTail("ndjson");
    for (let i = 0; i < 5000; i++) tail.push(Buffer.from(`{"response":"word ${i}","done":false}\n`));
    tail.push(Buffer.from('{"done":true,"done_reason":"stop","prompt_eval_count":12,"eval_count'));
    tail.push(Buffer.from('":5000,"prompt_eval_duration":1000}\n'));
    const s = tail.stats();
    assert.equal(s.promptTokens, 12);
    assert.equal(s.outputTokens, 5000);
    assert.equal(s.doneReason, "stop");
  });

  it("reads OpenAI usage from the last SSE event before [DONE]", () => {
    const tail = new AnswerTail("sse");
    tail.push(Buffer.from('data: {"choices":[{"delta":{"content":"x"}}]}\n\n'));
    tail.push(
      Buffer.from(
        'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":9}}\n\ndata: [DONE]\n\n',
      ),
    );
    assert.equal(tail.stats().outputTokens, 9);
    assert.equal(tail.stats().promptTokens, 3);
  });
});

describe("ProgressMerger", () => {
  it("adds up layer bytes across instances and says success only when all succeeded", () => {
    const m = new ProgressMerger(["a", "b"]);
    assert.deepEqual(m.add("a", { status: "pulling manifest" }), { status: "pulling manifest" });
    assert.equal(m.add("b", { status: "pulling manifest" }), undefined);
    m.add("a", { status: "pulling abc", digest: "sha256:abc", total: 100, completed: 50 });
    assert.deepEqual(m.add("b", { status: "pulling abc", digest: "sha256:abc", total: 100, completed: 20 }), {
      status: "pulling abc",
      digest: "sha256:abc",
      total: 200,
      completed: 70,
    });
    m.add("a", { status: "success" });
    assert.match(m.final().error ?? "", /failed on 1 of 2 instances: b: stream ended without success/);
    m.add("b", { status: "success" });
  });

  it("passes a failure shared by every instance on in Ollama's own words", () => {
    const m = new ProgressMerger(["a", "b"]);
    m.add("a", { error: "pull model manifest: file does not exist" });
    m.add("b", { error: "pull model manifest: file does not exist" });
    assert.deepEqual(m.final(), { error: "pull model manifest: file does not exist" });
  });
});

describe("parseInference", () => {
  it("streams generate and chat unless told otherwise, and OpenAI only when asked", () => {
    assert.equal(parseInference("chat", Buffer.from('{"model":"m"}')).stream, true);
    assert.equal(parseInference("generate", Buffer.from('{"model":"m","stream":false}')).stream, false);
    assert.equal(parseInference("openai_chat", Buffer.from('{"model":"m","messages":[]}')).stream, false);
    assert.equal(parseInference("embed", Buffer.from('{"model":"m","input":"x"}')).stream, false);
  });

  it("reports every wrong field at once", () => {
    assert.throws(
      () => parseInference("chat", Buffer.from('{"model":"m","messages":"x","stream":"no"}')),
      /"messages".*"stream"|"stream".*"messages"/,
    );
  });
});
