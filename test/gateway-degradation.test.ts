import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseCanarySplit } from "../src/config/traffic-schema.js";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";

const SMALL = "llama3.2:1b";
const OTHER = "qwen2.5:0.5b";
const MODELS = `${SMALL}:1.3:1.2,${OTHER}:0.4:0.5`;

async function chat(url: string, model: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/api/chat`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      model,
      messages: [{ role: "user", content: "hi" }],
      stream: false,
      options: { num_predict: 2 },
    }),
  });
  const body = (await res.json()) as { model?: string; error?: string };
  return {
    status: res.status,
    body,
    instance: res.headers.get("x-ollama-fleet-instance"),
    version: res.headers.get("x-ollama-fleet-model-version"),
  };
}

describe("precision requirements end to end", () => {
  let fleet: FleetFixture;
  before(async () => {
    fleet = await startFleet(
      [
        { args: ["--gpu", "RTX 2080 Ti:11", "--models", MODELS] },
        { args: ["--gpu", "RTX 4090:24", "--models", MODELS] },
      ],
      (c) => {
        c.instances[0]!.name = "RTX 2080 Ti";
        c.instances[1]!.name = "RTX 4090";
        c.provisioning.plannedModels = [{ name: SMALL, weight: 1, sizeBytes: undefined, precision: "bf16" }];
      },
    );
  });
  after(() => fleet.close());

  it("a model that requires BF16 is never sent to a GPU without it; other models still are", async () => {
    const bf16 = await Promise.all(Array.from({ length: 8 }, () => chat(fleet.url, SMALL)));
    assert.deepEqual(new Set(bf16.map((r) => r.instance)), new Set([fleet.gateway.fleet.instances()[1]!.id]));
    const any = await Promise.all(Array.from({ length: 8 }, () => chat(fleet.url, OTHER)));
    assert.equal(new Set(any.map((r) => r.instance)).size, 2);
  });
});

describe("CPU fallback end to end", () => {
  let fleet: FleetFixture;
  before(async () => {
    fleet = await startFleet(
      [{ args: ["--gpu", "RTX 4090:24", "--models", MODELS] }, { args: ["--cpu", "--models", MODELS] }],
      (c) => {
        c.instances[1]!.gpuId = -1;
        c.instances[1]!.name = "CPU";
        c.traffic.cpuFallbackMaxModelBytes = 1e9;
      },
    );
  });
  after(() => fleet.close());

  it("the CPU instance gets nothing while the GPU is up, and small models when the GPU is out", async () => {
    const [gpu, cpu] = fleet.gateway.fleet.instances();
    const normal = await Promise.all(Array.from({ length: 6 }, () => chat(fleet.url, SMALL)));
    assert.ok(normal.every((r) => r.instance === gpu!.id));

    gpu!.draining = true;
    const small = await chat(fleet.url, OTHER);
    assert.equal(small.status, 200);
    assert.equal(small.instance, cpu!.id);
    const status = (await (await fetch(`${fleet.url}/fleet/status`)).json()) as {
      degraded: boolean;
      degradation: string[];
    };
    assert.equal(status.degraded, true);
    assert.ok(
      status.degradation.some((r) => r.includes("CPU fallback")),
      status.degradation.join("; "),
    );

    // 1.3 GB is above the 1 GB fallback limit: no instance may take it.
    const big = await chat(fleet.url, SMALL);
    assert.equal(big.status, 503);
    gpu!.draining = false;
  });
});

describe("canary splits end to end", () => {
  let fleet: FleetFixture;
  before(async () => {
    const split = parseCanarySplit(`assistant => ${SMALL} 70%, ${OTHER} 30%`);
    if (typeof split === "string") throw new Error(split);
    fleet = await startFleet([{ args: ["--gpu", "RTX 4090:24", "--models", MODELS] }], (c) => {
      c.traffic.canary = [split];
    });
  });
  after(() => fleet.close());

  it("splits sessions between versions, keeps each session on its version and names it in the answer", async () => {
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => chat(fleet.url, "assistant", { "x-session-id": `user-${i}` })),
    );
    assert.ok(answers.every((a) => a.status === 200 && a.body.model === a.version));
    const canary = answers.filter((a) => a.version === OTHER).length;
    assert.ok(canary >= 4 && canary <= 22, `${canary} of 40 sessions on the 30% version`);
    for (const i of [0, 1, 2]) {
      const again = await chat(fleet.url, "assistant", { "x-session-id": `user-${i}` });
      assert.equal(again.version, answers[i]!.version);
    }
    const status = (await (await fetch(`${fleet.url}/fleet/status`)).json()) as {
      canary: { split: string; versions: { model: string; requests: number }[] }[];
    };
    const total = status.canary[0]!.versions.reduce((s, v) => s + v.requests, 0);
    assert.equal(total, 43);
  });
});
