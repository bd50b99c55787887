/** startEmulator in this process: its handle, its speed, and Ollama's VRAM-based defaults. */
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { describe, it } from "node:test";
import { parseModelList } from "../src/sim/catalog.js";
import { startEmulator } from "../src/sim/emulator.js";
import { parseGpuSpec } from "../src/sim/perf-model.js";

function timedCall(
  agent: Agent,
  url: string,
  body?: object,
): Promise<{ ms: number; json: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const started = performance.now();
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: body ? "POST" : "GET", agent },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () =>
          resolve({ ms: performance.now() - started, json: JSON.parse(text) as Record<string, number> }),
        );
      },
    );
    req.on("error", reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe("an in-process emulator", () => {
  it("answers num_predict 1 at time-scale 1000 with well under a millisecond beyond HTTP and model time", async () => {
    const emu = await startEmulator({ timeScale: 1000, models: parseModelList("llama3.2:1b") });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const body = (i: number) => ({
        model: "llama3.2:1b",
        prompt: `hello ${i}`,
        stream: false,
        options: { num_predict: 1 },
      });
      await timedCall(agent, `${emu.url}/api/generate`, body(-1)); // load
      const http: number[] = [];
      const gen: number[] = [];
      for (let i = 0; i < 60; i++) {
        http.push((await timedCall(agent, `${emu.url}/api/version`)).ms);
        const r = await timedCall(agent, `${emu.url}/api/generate`, body(i));
        gen.push(r.ms - r.json.total_duration! / 1e6);
      }
      const overhead = median(gen) - median(http);
      assert.ok(overhead < 1, `emulator overhead ${overhead.toFixed(3)} ms`);
    } finally {
      agent.destroy();
      await emu.close();
    }
  });

  it("picks num_ctx by VRAM like Ollama (4096 / 32768 / 262144, capped by the model)", async () => {
    const ctxFor = async (gpu: string): Promise<number> => {
      const emu = await startEmulator({
        timeScale: 1000,
        gpu: parseGpuSpec(gpu),
        models: parseModelList("llama3.2:1b,qwen2.5:0.5b"),
      });
      try {
        await fetch(`${emu.url}/api/generate`, {
          method: "POST",
          body: JSON.stringify({ model: "llama3.2:1b", prompt: "" }),
        });
        return emu.stats().loaded[0]!.numCtx;
      } finally {
        await emu.close();
      }
    };
    assert.equal(await ctxFor("small:12"), 4096);
    assert.equal(await ctxFor("mid:24"), 32768);
    assert.equal(await ctxFor("big:80"), 131072, "262144 capped at llama3.2's trained 131072");
  });

  it("closes cleanly even with a stream in flight, and close is idempotent", async () => {
    const emu = await startEmulator({ timeScale: 1, models: parseModelList("llama3.2:1b") });
    const res = await fetch(`${emu.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2:1b", prompt: "long", options: { num_predict: 5000 } }),
    });
    const reading = res.text().catch(() => "cut");
    await Promise.all([emu.close(), emu.close()]);
    assert.equal(await reading, "cut");
    await assert.rejects(fetch(`${emu.url}/`));
  });
});
