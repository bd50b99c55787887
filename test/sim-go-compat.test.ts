/** The emulator's Go compatibility: encoding/json errors, durations, names, flags and environment parsing. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatParameterSize, modelSpecFor, normalizeModelName, parseModelList } from "../src/sim/catalog.js";
import { optionsFrom, parseOllamaHost } from "../src/sim/env-config.js";
import { decodeKeepAlive, goJson, goTime, parseGoDuration } from "../src/sim/go-compat.js";
import { parseGpuSpec } from "../src/sim/perf-model.js";
import { CHAT, decodeBody, GENERATE, OA_CHAT, type InferenceBody } from "../src/sim/request-schemas.js";

function errorOf(body: string, schema = GENERATE): string {
  const r = decodeBody<InferenceBody>(body, schema);
  assert.equal(r.ok, false, `expected ${body} to fail`);
  return r.ok ? "" : r.error;
}

describe("Go's encoding/json as Ollama's handlers see it", () => {
  it("reports syntax errors with the scanner's exact text", () => {
    const cases: [string, string][] = [
      ["x", "invalid character 'x' looking for beginning of value"],
      ["{bad", "invalid character 'b' looking for beginning of object key string"],
      ["{", "unexpected EOF"],
      ['{"model":', "unexpected EOF"],
      ['{"model" "a"}', `invalid character '"' after object key`],
      ['{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
      ['{"a":1,}', "invalid character '}' looking for beginning of object key string"],
      ['{"a":[1 2]}', "invalid character '2' after array element"],
      ['{"a":tru}', "invalid character '}' in literal true (expecting 'e')"],
      ['{"a":-x}', "invalid character 'x' in numeric literal"],
      ['{"a":1.x}', "invalid character 'x' after decimal point in numeric literal"],
      ['{"a":1ex}', "invalid character 'x' in exponent of numeric literal"],
      ['{"a":"\\q"}', "invalid character 'q' in string escape code"],
      ['{"a":"\n"}', "invalid character '\\n' in string literal"],
      ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
    ];
    for (const [body, message] of cases) assert.equal(errorOf(body), message, body);
  });

  it("reports wrong types as Go struct field errors with the JSON path", () => {
    assert.equal(
      errorOf('{"model":1}'),
      "json: cannot unmarshal number into Go struct field GenerateRequest.model of type string",
    );
    assert.equal(
      errorOf('{"stream":"yes"}'),
      "json: cannot unmarshal string into Go struct field GenerateRequest.stream of type bool",
    );
    assert.equal(
      errorOf('{"options":[]}'),
      "json: cannot unmarshal array into Go struct field GenerateRequest.options of type map[string]interface {}",
    );
    assert.equal(
      errorOf('{"context":[1.5]}'),
      "json: cannot unmarshal number 1.5 into Go struct field GenerateRequest.context of type int",
    );
    assert.equal(
      errorOf('{"messages":"hi"}', CHAT),
      "json: cannot unmarshal string into Go struct field ChatRequest.messages of type []api.Message",
    );
    assert.equal(
      errorOf('{"messages":[{"content":2}]}', CHAT),
      "json: cannot unmarshal number into Go struct field Message.messages.content of type string",
    );
    assert.equal(
      errorOf('{"stream_options":{"include_usage":1}}', OA_CHAT),
      "json: cannot unmarshal number into Go struct field StreamOptions.stream_options.include_usage of type bool",
    );
    assert.equal(errorOf("[1]"), "json: cannot unmarshal array into Go value of type api.GenerateRequest");
    assert.equal(
      errorOf('{"keep_alive":"5 minutes"}'),
      'time: unknown unit " minutes" in duration "5 minutes"',
    );
    assert.equal(errorOf('{"keep_alive":true}'), "Unsupported type: 'bool'");
  });

  it("matches field names case-insensitively, ignores unknown fields and anything after the value", () => {
    const r = decodeBody<InferenceBody>('{"MODEL":"m","Prompt":"p","extra":{"x":1}} trailing', GENERATE);
    assert.deepEqual(r, { ok: true, value: { model: "m", prompt: "p" } });
    const eof = decodeBody<InferenceBody>("  \n", GENERATE);
    assert.equal(eof.ok === false && eof.eof, true, "an empty body is io.EOF (missing request body)");
  });

  it("parses Go durations and keep_alive values like api.Duration", () => {
    assert.equal(parseGoDuration("5m"), 300e9);
    assert.equal(parseGoDuration("1h30m"), 5400e9);
    assert.equal(parseGoDuration("1.5s"), 1.5e9);
    assert.throws(() => parseGoDuration("5"), /^Error: time: missing unit in duration "5"$/);
    assert.deepEqual(decodeKeepAlive(30), { ns: 30e9 });
    assert.deepEqual(decodeKeepAlive(-1), { ns: Infinity });
    assert.deepEqual(decodeKeepAlive("-1m"), { ns: Infinity });
    assert.deepEqual(decodeKeepAlive("0"), { ns: 0 });
  });

  it("writes JSON and times the way Go does", () => {
    assert.equal(goJson({ s: "<a & b>" }), '{"s":"\\u003ca \\u0026 b\\u003e"}');
    assert.equal(goTime(Date.UTC(2024, 0, 2, 3, 4, 5, 120)), "2024-01-02T03:04:05.12Z");
    assert.equal(goTime(Date.UTC(2024, 0, 2, 3, 4, 5, 0)), "2024-01-02T03:04:05Z");
  });
});

describe("names, flags and environment", () => {
  it("normalizes model names like Ollama's shortest display form", () => {
    assert.equal(normalizeModelName("llama3.2"), "llama3.2:latest");
    assert.equal(normalizeModelName("registry.ollama.ai/library/qwen2.5:7b"), "qwen2.5:7b");
    assert.equal(normalizeModelName("me/custom:v1"), "me/custom:v1");
    assert.equal(normalizeModelName("bad name"), null);
    assert.equal(formatParameterSize(8.03e9), "8.0B");
    assert.equal(formatParameterSize(7e9), "7B");
    assert.equal(formatParameterSize(494.03e6), "494.03M");
  });

  it("reads --models with tags and optional size and parameter numbers", () => {
    const [a, b, c] = parseModelList(
      "llama3.2:1b:1.3:1.2, mistral:7b-instruct-q4_K_M:4.4:7.2,nomic-embed-text",
    );
    assert.deepEqual([a!.name, a!.sizeBytes, a!.parameterCount], ["llama3.2:1b", 1.3e9, 1.2e9]);
    assert.deepEqual([b!.name, b!.sizeBytes], ["mistral:7b-instruct-q4_K_M", 4.4e9]);
    assert.equal(c!.name, "nomic-embed-text:latest");
    assert.equal(c!.embeddingOnly, true);
    assert.throws(() => parseModelList("unknown-thing"), /give its size/);
    assert.equal(modelSpecFor("my-model:q4", 2).family, "llama");
  });

  it("reads --gpu with its VRAM in GiB and a bandwidth from the name or the flag", () => {
    const g = parseGpuSpec("RTX 4090:24");
    assert.equal(g.memoryBytes, 24 * 1024 ** 3);
    assert.equal(g.bandwidthBytesPerSec, 1008e9);
    assert.equal(parseGpuSpec("Mystery:8").bandwidthBytesPerSec, 448e9);
    assert.equal(parseGpuSpec("Mine:8:300").bandwidthBytesPerSec, 300e9);
    assert.throws(() => parseGpuSpec("no-memory"), /NAME:VRAM_GB/);
  });

  it("parses OLLAMA_HOST like envconfig", () => {
    assert.deepEqual(parseOllamaHost(undefined), { host: "127.0.0.1", port: 11434 });
    assert.deepEqual(parseOllamaHost("0.0.0.0"), { host: "0.0.0.0", port: 11434 });
    assert.deepEqual(parseOllamaHost(":8080"), { host: "0.0.0.0", port: 8080 });
    assert.deepEqual(parseOllamaHost("http://example.com"), { host: "example.com", port: 80 });
    assert.deepEqual(parseOllamaHost("[::1]:9000"), { host: "::1", port: 9000 });
    assert.deepEqual(parseOllamaHost('"127.0.0.2:1234/"'), { host: "127.0.0.2", port: 1234 });
  });

  it("takes settings from the environment, lets flags win, and goes CPU-only without visible GPUs", () => {
    const env = {
      OLLAMA_HOST: "127.0.0.1:9999",
      OLLAMA_NUM_PARALLEL: "4",
      OLLAMA_MAX_QUEUE: "7",
      OLLAMA_MAX_LOADED_MODELS: "2",
      OLLAMA_KEEP_ALIVE: "30",
    };
    const o = optionsFrom({ models: "llama3.2:1b" }, env);
    assert.deepEqual(
      [o.port, o.numParallel, o.maxQueue, o.maxLoadedModels, o.keepAliveMs],
      [9999, 4, 7, 2, 30_000],
    );
    const f = optionsFrom({ models: "llama3.2:1b", port: 0, parallel: 2, keepAlive: "-1" }, env);
    assert.deepEqual([f.port, f.numParallel, f.keepAliveMs], [0, 2, Infinity]);
    assert.equal(
      optionsFrom({ models: "llama3.2:1b" }, { OLLAMA_NUM_PARALLEL: "many" }).numParallel,
      1,
      "invalid is ignored",
    );
    assert.equal(
      optionsFrom({ models: "llama3.2:1b", gpu: "A:8" }, { CUDA_VISIBLE_DEVICES: "-1" }).gpu?.cpuOnly,
      true,
    );
    assert.equal(
      optionsFrom({ models: "llama3.2:1b", gpu: "A:8" }, { CUDA_VISIBLE_DEVICES: "" }).gpu?.cpuOnly,
      true,
    );
    assert.equal(
      optionsFrom({ models: "llama3.2:1b", gpu: "A:8" }, { CUDA_VISIBLE_DEVICES: "0" }).gpu?.cpuOnly,
      false,
    );
  });
});
