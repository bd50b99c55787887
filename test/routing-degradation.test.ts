import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCanarySplit } from "../src/config/traffic-schema.js";
import { precisionSupportByName } from "../src/gpu/capability-db.js";
import { CanaryRouter, sessionPoint, versionAt } from "../src/routing/canary.js";
import { applyCpuFallback } from "../src/routing/cpu-fallback.js";
import { canHold } from "../src/routing/model-fit.js";
import { mulberry32 } from "../src/util/prng.js";
import { candidate } from "./helpers/candidate.js";

const settings = { enabled: true, maxModelBytes: 4e9, gpuLoadPercent: 100 };
const isCpu = (id: string) => id === "cpu";

describe("CPU fallback", () => {
  it("leaves CPU instances out while a GPU instance has room", () => {
    const r = applyCpuFallback([candidate("gpu", { inFlight: 3 }), candidate("cpu")], isCpu, 1e9, settings);
    assert.deepEqual(
      r.candidates.map((c) => c.id),
      ["gpu"],
    );
    assert.equal(r.fallback, false);
  });

  it("lets a CPU instance serve a small model when every GPU instance is down", () => {
    const gpus = [
      candidate("g1", { health: "unhealthy" }),
      candidate("g2", { breaker: "open" }),
      candidate("cpu"),
    ];
    const r = applyCpuFallback(gpus, isCpu, 1e9, settings);
    assert.equal(r.fallback, true);
    assert.ok(r.candidates.some((c) => c.id === "cpu"));
  });

  it("never for a model above the size limit, even with every GPU down", () => {
    const r = applyCpuFallback([candidate("g", { draining: true }), candidate("cpu")], isCpu, 8e9, settings);
    assert.deepEqual(
      r.candidates.map((c) => c.id),
      ["g"],
    );
  });

  it("a full GPU is waited for until the backlog reaches its capacity, then the CPU helps", () => {
    const full = (queueDepth: number) => [
      candidate("g", { inFlight: 4, queueDepth }),
      candidate("cpu", { queueDepth }),
    ];
    assert.equal(applyCpuFallback(full(3), isCpu, 1e9, settings).fallback, false);
    assert.equal(applyCpuFallback(full(4), isCpu, 1e9, settings).fallback, true);
  });

  it("is off when disabled", () => {
    const r = applyCpuFallback([candidate("g", { health: "unhealthy" }), candidate("cpu")], isCpu, 1e9, {
      ...settings,
      enabled: false,
    });
    assert.equal(r.fallback, false);
  });
});

describe("precision requirements", () => {
  it("the capability table knows which GPUs lack BF16 and FP8", () => {
    assert.equal(precisionSupportByName("RTX 2080 Ti")?.bfloat16, false);
    assert.equal(precisionSupportByName("RTX 3060 Ti")?.bfloat16, true);
    assert.equal(precisionSupportByName("RTX 3060 Ti")?.fp8, false);
    assert.equal(precisionSupportByName("RTX 4090")?.fp8, true);
    assert.equal(precisionSupportByName("Some Unknown Accelerator"), undefined);
  });

  it("an instance whose GPU lacks the required precision cannot hold the model; unknown support can", () => {
    const base = { modelSizeBytes: 1e9, memoryLimitBytes: 8e9 };
    assert.equal(canHold({ ...base, requiresPrecision: "bf16", supportsBf16: false }), false);
    assert.equal(canHold({ ...base, requiresPrecision: "fp8", supportsFp8: false }), false);
    assert.equal(canHold({ ...base, requiresPrecision: "bf16", supportsBf16: true }), true);
    assert.equal(canHold({ ...base, requiresPrecision: "bf16" }), true);
  });
});

describe("canary splits", () => {
  const split = parseCanarySplit("chat => llama3.1:8b 90%, llama3.2:3b 10%");

  it("parse the INI form and reject malformed ones with the reason", () => {
    assert.deepEqual(split, {
      name: "chat:latest",
      versions: [
        { model: "llama3.1:8b", weight: 90 },
        { model: "llama3.2:3b", weight: 10 },
      ],
    });
    assert.match(String(parseCanarySplit("chat => only 100%")), /fewer than two versions/);
    assert.match(String(parseCanarySplit("chat llama 90%")), /is not "name => a 90%, b 10%"/);
  });

  it("split traffic without sessions by weight", () => {
    if (typeof split === "string") throw new Error(split);
    const router = new CanaryRouter([split], mulberry32(7));
    for (let i = 0; i < 2000; i++) router.resolve("chat:latest", undefined);
    const [stats] = router.stats();
    const canary = stats?.versions.find((v) => v.model === "llama3.2:3b")?.requests ?? 0;
    assert.ok(canary > 150 && canary < 250, `${canary} of 2000 on the 10% version`);
  });

  it("keep a session on one version, and spread sessions by weight", () => {
    if (typeof split === "string") throw new Error(split);
    const router = new CanaryRouter([split], () => 0.999);
    const first = router.resolve("chat:latest", "session-42")?.model;
    for (let i = 0; i < 20; i++) assert.equal(router.resolve("chat:latest", "session-42")?.model, first);
    let canary = 0;
    for (let i = 0; i < 2000; i++)
      if (versionAt(split, sessionPoint(`s${i}`, split.name)) === "llama3.2:3b") canary++;
    assert.ok(canary > 150 && canary < 250, `${canary} of 2000 sessions on the 10% version`);
  });

  it("leave names that are not split alone", () => {
    if (typeof split === "string") throw new Error(split);
    assert.equal(new CanaryRouter([split], Math.random).resolve("llama3.1:8b", "s"), undefined);
  });
});
