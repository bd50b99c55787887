// Which embedding requests merge, the merged body, and splitting the answer back exactly.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildMergedRequest, mergeCandidateOf } from "../src/http/embed-merge-plan.js";
import {
  float32Base64,
  goString,
  rawArrayElements,
  readMergedAnswer,
  renderShare,
  splitPromptTokens,
} from "../src/http/embed-merge-split.js";
import { parseInference, type InferenceEndpoint } from "../src/http/request-body.js";

function candidate(endpoint: InferenceEndpoint, body: unknown) {
  return mergeCandidateOf(endpoint, parseInference(endpoint, Buffer.from(JSON.stringify(body))));
}

describe("which embedding requests may be merged", () => {
  it("takes /api/embed strings and string arrays, and OpenAI inputs with Ollama's own reading of them", () => {
    assert.deepEqual(candidate("embed", { model: "m", input: "a" })?.inputs, ["a"]);
    assert.deepEqual(candidate("embed", { model: "m", input: ["a", ""] })?.inputs, ["a", ""]);
    assert.deepEqual(candidate("openai_embeddings", { model: "m", input: "" })?.inputs, [""]);
    assert.equal(candidate("openai_embeddings", { model: "m", input: ["x"] })?.format, "openai_float");
    const b64 = candidate("openai_embeddings", { model: "m", input: "x", encoding_format: "BASE64" });
    assert.equal(b64?.format, "openai_base64");
  });

  it("leaves alone what Ollama would reject or treat specially, so its own answer reaches the client", () => {
    const refused: [InferenceEndpoint, unknown][] = [
      ["embeddings", { model: "m", prompt: "legacy vectors are not normalised" }],
      ["embed", { model: "m", input: "" }],
      ["embed", { model: "m", input: [] }],
      ["embed", { model: "m" }],
      ["embed", { model: "m", input: "a", dimensions: 1.5 }],
      ["embed", { model: "m", input: "a", Truncate: false }],
      ["openai_embeddings", { model: "m", input: [1, 2, 3] }],
      ["openai_embeddings", { model: "m", input: [] }],
      ["openai_embeddings", { model: "m", input: "a", encoding_format: "int8" }],
      ["openai_embeddings", { model: "m", input: "a", Dimensions: 8 }],
    ];
    for (const [endpoint, body] of refused)
      assert.equal(candidate(endpoint, body), undefined, JSON.stringify(body));
  });

  it("merges requests whose settings mean the same to Ollama, and keeps apart those that differ", () => {
    const key = (e: InferenceEndpoint, b: Record<string, unknown>) =>
      candidate(e, { model: "m", input: "a", ...b })?.key;
    assert.equal(
      key("embed", {}),
      key("openai_embeddings", {}),
      "OpenAI sends only model, input, dimensions",
    );
    assert.equal(key("embed", { truncate: true }), key("embed", {}), "nil and true both truncate");
    assert.equal(key("embed", { dimensions: 0 }), key("embed", {}));
    assert.equal(
      key("embed", { options: { num_ctx: 64, seed: 1 } }),
      key("embed", { options: { seed: 1, num_ctx: 64 } }),
    );
    assert.equal(key("embed", { extra: 1 }), key("embed", {}), "unknown fields are ignored by Go");
    const distinct = [
      key("embed", {}),
      key("embed", { truncate: false }),
      key("embed", { dimensions: 64 }),
      key("embed", { keep_alive: "1m" }),
      key("embed", { options: { num_ctx: 64 } }),
      candidate("embed", { model: "m:latest", input: "a" })?.key,
    ];
    assert.equal(new Set(distinct).size, distinct.length);
  });
});

describe("the merged request", () => {
  it("carries every member's inputs, each distinct input once, and remembers where each member's are", () => {
    const a = candidate("embed", { model: "m", input: ["x", "y"], keep_alive: 60 });
    const b = candidate("openai_embeddings", { model: "m", input: "y" });
    const c = candidate("embed", { model: "m", input: ["z", "x"], keep_alive: 60 });
    assert.ok(a && b && c);
    const merged = buildMergedRequest([a, c]);
    assert.deepEqual(JSON.parse(merged.body), { model: "m", input: ["x", "y", "z"], keep_alive: 60 });
    assert.deepEqual(merged.slots, [
      [0, 1],
      [2, 0],
    ]);
    assert.deepEqual(buildMergedRequest([b]).uniqueInputs, ["y"]);
  });
});

describe("splitting the merged answer", () => {
  const body =
    '{"model":"m","embeddings":[[0.1,-0],[1e-7, 0.10000000149011612],[ -2.5e+21 ,3]],"total_duration":900,"load_duration":7,"prompt_eval_count":12}';

  it("keeps each vector's bytes exactly as Ollama wrote them", () => {
    const answer = readMergedAnswer(body, 3);
    assert.deepEqual(answer?.vectors, ["[0.1,-0]", "[1e-7, 0.10000000149011612]", "[ -2.5e+21 ,3]"]);
    assert.deepEqual(
      [answer?.totalDurationNs, answer?.loadDurationNs, answer?.promptEvalCount],
      [900, 7, 12],
    );
    assert.equal(readMergedAnswer(body, 2), undefined, "a vector count that does not match is refused");
    assert.equal(readMergedAnswer('{"error":"boom"}', 1), undefined);
    assert.deepEqual(
      rawArrayElements('{"a":{"embeddings":[9]},"b":"]\\"","embeddings":[]}', "embeddings"),
      [],
    );
  });

  it("splits prompt_eval_count by input size so the shares add up to Ollama's total", () => {
    const unique = ["aaaa", "bb", "cccccccc"];
    const shares = splitPromptTokens(31, unique, [[0], [1], [2]]);
    assert.equal(
      shares.reduce((a, b) => a + b, 0),
      31,
    );
    assert.ok((shares[2] ?? 0) > (shares[0] ?? 0) && (shares[0] ?? 0) > (shares[1] ?? 0));
    assert.deepEqual(splitPromptTokens(10, ["same"], [[0], [0]]), [10, 10], "a shared input counts for each");
  });

  it("answers an /api/embed member in Ollama's field order, leaving zero counts out as Go does", () => {
    const out = renderShare({
      format: "ollama",
      model: "m<1>",
      vectors: ["[1,2]", "[3]"],
      promptEvalCount: 0,
      totalDurationNs: 5,
      loadDurationNs: 2,
    });
    assert.equal(
      out.body,
      '{"model":"m\\u003c1\\u003e","embeddings":[[1,2],[3]],"total_duration":5,"load_duration":2}',
    );
  });

  it("answers an OpenAI member as Ollama's OpenAI layer does, floats or base64 of float32 little-endian", () => {
    const share = {
      model: "m",
      vectors: ["[0.5,-1.25]"],
      promptEvalCount: 3,
      totalDurationNs: 1,
      loadDurationNs: 1,
    };
    const float = renderShare({ ...share, format: "openai_float" });
    assert.equal(
      float.body,
      '{"object":"list","data":[{"object":"embedding","embedding":[0.5,-1.25],"index":0}],"model":"m","usage":{"prompt_tokens":3,"total_tokens":3}}\n',
    );
    const b64 = JSON.parse(renderShare({ ...share, format: "openai_base64" }).body) as {
      data: { embedding: string }[];
    };
    const bytes = Buffer.from(b64.data[0]?.embedding ?? "", "base64");
    assert.deepEqual([bytes.readFloatLE(0), bytes.readFloatLE(4)], [0.5, -1.25]);
    const v = Math.fround(0.1);
    assert.equal(Buffer.from(float32Base64(JSON.stringify([v])), "base64").readFloatLE(0), v);
    assert.equal(goString("a&b\u2028"), '"a\\u0026b\\u2028"');
  });
});
