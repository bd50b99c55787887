/** Out-of-memory classification of Ollama's wording, the escalating recovery decision and its bookkeeping. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifyOom } from "../src/supervisor/oom-classifier.js";
import { decideOomRecovery, OomEscalation, type OomSituation } from "../src/supervisor/oom-recovery.js";
import { ManualClock } from "./helpers/manual-clock.js";

describe("classifyOom", () => {
  const cases: [string, string | undefined][] = [
    // Ollama's scheduler (llm/server.go) and the emulator's copy of it.
    ["model requires more system memory (9.2 GiB) than is available (7.6 GiB)", "system_memory"],
    ["model request too large for system", "system_memory"],
    // Runner failures relayed by Ollama as 500s and seen in its log.
    ["llama runner process has terminated: cudaMalloc failed: out of memory", "gpu_memory"],
    ["CUDA error: out of memory\n  current device: 0, in function alloc", "gpu_memory"],
    [
      "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 21760.00 MiB on device 0: cudaMalloc failed: out of memory",
      "gpu_memory",
    ],
    ["hipMalloc failed: out of memory", "gpu_memory"],
    ["error loading model: unable to allocate CUDA0 buffer", "gpu_memory"],
    ["alloc_tensor_range: failed to allocate ROCm0 buffer of size 1073741824", "gpu_memory"],
    ["CUBLAS_STATUS_ALLOC_FAILED", "gpu_memory"],
    [
      "llama_init_from_model: failed to initialize the context: failed to allocate buffer for kv cache",
      "allocation",
    ],
    ["error loading model: unable to allocate backend buffer", "allocation"],
    ["memory layout cannot be allocated with num_gpu = 33", "allocation"],
    ["fork/exec /usr/bin/ollama: cannot allocate memory", "system_memory"],
    // Not memory.
    ["model 'llama3:latest' not found", undefined],
    ["server busy, please try again.  maximum pending requests exceeded", undefined],
    [
      "model runner has unexpectedly stopped, this may be due to resource limitations or an internal error, check ollama server logs for details",
      undefined,
    ],
    ['[GIN] 2025/01/01 - 10:00:00 | 200 |  1.2s | 127.0.0.1 | POST "/api/chat"', undefined],
    ["", undefined],
  ];
  for (const [text, kind] of cases) {
    it(`classifies ${JSON.stringify(text.slice(0, 60))} as ${kind ?? "not out of memory"}`, () => {
      assert.equal(classifyOom(text)?.kind, kind);
    });
  }
});

function situation(over: Partial<OomSituation> = {}): OomSituation {
  return {
    kind: "gpu_memory",
    model: "llama3.1:8b",
    loadedModels: ["llama3.1:8b"],
    numParallel: 4,
    freeBytes: 1e9,
    modelSizeBytes: 5e9,
    candidates: [],
    tried: [],
    ...over,
  };
}

describe("decideOomRecovery", () => {
  it("first unloads the instance's other models", () => {
    const a = decideOomRecovery(
      situation({ loadedModels: ["llama3.1:8b", "qwen2.5:0.5b", "nomic-embed-text:latest"] }),
    );
    assert.deepEqual(a, { kind: "unload-others", models: ["qwen2.5:0.5b", "nomic-embed-text:latest"] });
  });

  it("halves the parallel slots when nothing else is loaded or unloading was tried", () => {
    assert.deepEqual(decideOomRecovery(situation()), { kind: "reduce-parallel", from: 4, to: 2 });
    assert.deepEqual(
      decideOomRecovery(
        situation({ numParallel: 3, loadedModels: ["a:1", "b:2"], tried: ["unload-others"] }),
      ),
      { kind: "reduce-parallel", from: 3, to: 1 },
    );
  });

  it("moves the model to the instance with the most free memory once it runs on one slot", () => {
    const a = decideOomRecovery(
      situation({
        numParallel: 1,
        candidates: [
          { id: "gpu1-11501", freeBytes: 6e9 },
          { id: "gpu2-11502", freeBytes: 20e9 },
          { id: "gpu3-11503", freeBytes: 0.5e9 },
        ],
      }),
    );
    assert.deepEqual(a, { kind: "move-model", toInstanceId: "gpu2-11502" });
  });

  it("does not move to an instance that cannot hold the model or has less free memory", () => {
    const a = decideOomRecovery(
      situation({
        numParallel: 1,
        freeBytes: 4e9,
        candidates: [
          { id: "small", freeBytes: 3e9 },
          { id: "too-small-for-model", freeBytes: 4.5e9 },
        ],
      }),
    );
    assert.equal(a.kind, "none");
    assert.match((a as { reason: string }).reason, /no other instance has more free memory/);
  });

  it("gives up after a move was already tried, and when the error names no model", () => {
    const moved = decideOomRecovery(
      situation({ numParallel: 1, tried: ["move-model"], candidates: [{ id: "x", freeBytes: 80e9 }] }),
    );
    assert.equal(moved.kind, "none");
    assert.equal(
      decideOomRecovery(situation({ numParallel: 1, model: undefined, loadedModels: [] })).kind,
      "none",
    );
  });
});

describe("OomEscalation", () => {
  it("coalesces errors while a step runs and during the cooldown, then remembers steps in the window", () => {
    const clock = new ManualClock(0);
    const esc = new OomEscalation({ windowMs: 60_000, cooldownMs: 5_000 });
    assert.deepEqual(esc.begin("i1", "m", clock.now()), { act: true, tried: [] });
    assert.deepEqual(esc.begin("i1", "m", clock.now()), { act: false, why: "in-progress" });
    // Another instance is independent.
    assert.equal(esc.begin("i2", "m", clock.now()).act, true);
    clock.advance(1_000);
    esc.finish("i1", "m", "unload-others", clock.now());
    clock.advance(4_999);
    assert.deepEqual(esc.begin("i1", "m", clock.now()), { act: false, why: "cooldown" });
    clock.advance(1);
    assert.deepEqual(esc.begin("i1", "m", clock.now()), { act: true, tried: ["unload-others"] });
    esc.finish("i1", "m", "reduce-parallel", clock.now());
    // A different model on the same instance has its own history.
    clock.advance(5_000);
    assert.deepEqual(esc.begin("i1", "other", clock.now()), { act: true, tried: [] });
    esc.finish("i1", "other", "none", clock.now());
    clock.advance(60_000);
    assert.deepEqual(esc.begin("i1", "m", clock.now()), { act: true, tried: [] });
  });
});
