/**
 * `ollama-fleet serve` as a process that launches its own instances: detected (fake NVML) GPUs with no
 * Ollama installed → emulated instances, routed through, all gone after SIGTERM; and a SIGKILLed
 * gateway leaves no instance behind (the orphan guard).
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { findExecutable } from "../src/supervisor/ollama-binary.js";
import { buildFakeNvml } from "./fixtures/gpu/gpu-fixtures.js";
import { alive, allGone, CLI, emulatorOllama, freePort, tempDir } from "./helpers/supervisor-fixture.js";

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

interface Served {
  child: ChildProcess;
  url: string;
  /** pids of the instance processes and of the orphan guard, as the gateway logged them. */
  pids: number[];
  logs: Record<string, unknown>[];
}

/** Starts `serve` and waits until every planned instance is ready and the gateway listens. */
function serve(args: string[], env: NodeJS.ProcessEnv, instances: number): Promise<Served> {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env,
  });
  children.push(child);
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`not ready in time:\n${stderr}\n${JSON.stringify(logs)}`)),
      30_000,
    );
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}:\n${stderr}`)));
    let url: string | undefined;
    const pids: number[] = [];
    let ready = 0;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(msg);
      if (msg.msg === "gateway listening") url = String(msg.url);
      if (msg.msg === "instance process spawned" || msg.msg === "orphan guard started")
        pids.push(Number(msg.pid));
      if (msg.msg === "instance ready") ready++;
      if (url !== undefined && ready === instances) {
        clearTimeout(timer);
        resolve({ child, url, pids, logs });
      }
    });
  });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      return resolve({ code: child.exitCode, signal: child.signalCode });
    }
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}

async function generate(url: string): Promise<Response> {
  return fetch(`${url}/api/generate`, {
    method: "POST",
    body: JSON.stringify({ model: "llama3.2:1b", prompt: "hi", stream: false, options: { num_predict: 2 } }),
  });
}

describe("serve with supervised instances", () => {
  it("launches emulated instances for detected GPUs when no ollama is installed, routes through them, and leaves nothing after SIGTERM", async (t) => {
    const dir = await tempDir();
    const lib = await buildFakeNvml(dir);
    if ("skip" in lib) return t.skip(lib.skip);
    const path = `${dirname(process.execPath)}:/usr/bin:/bin`;
    if (findExecutable("ollama", { PATH: path })) return t.skip("an ollama binary is installed on this PATH");
    const served = await serve(
      [],
      {
        ...process.env,
        PATH: path,
        LD_LIBRARY_PATH: dirname(lib.path),
        FAKE_NVML_GPUS: "NVIDIA GeForce RTX 3060 Ti:8192:8.6;NVIDIA GeForce RTX 4070 Ti:12282:8.9",
        OLLAMA_FLEET_BASE_PORT: String(await freePort()),
        OLLAMA_FLEET_LOG_LEVEL: "info",
      },
      2,
    );
    const warning = served.logs.find((l) => String(l.msg).includes("EMULATED OLLAMA"));
    assert.ok(warning, "the emulated stand-in is announced");
    const started = served.logs.filter((l) => l.msg === "instance process spawned").map((l) => l.instance);
    assert.equal(started.length, 2);
    // Each emulator plays the GPU the plan pinned it to.
    const listening = served.logs
      .filter((l) => String(l.msg).includes("emulated Ollama;"))
      .map((l) => String(l.msg));
    assert.ok(
      listening.some((m) => m.includes("NVIDIA GeForce RTX 3060 Ti")),
      listening.join("\n"),
    );
    assert.ok(
      listening.some((m) => m.includes("NVIDIA GeForce RTX 4070 Ti")),
      listening.join("\n"),
    );

    const res = await generate(served.url);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get("x-ollama-fleet-emulated"), "true");
    assert.ok(started.includes(res.headers.get("x-ollama-fleet-instance")));

    assert.equal(served.pids.length, 3, "two instances and the orphan guard");
    assert.ok(served.pids.every(alive));
    served.child.kill("SIGTERM");
    assert.deepEqual(await exitOf(served.child), { code: 0, signal: null });
    await allGone(served.pids, 3_000);
  });

  it("leaves no instance process behind when the gateway is killed with SIGKILL", async () => {
    const dir = await tempDir();
    const bin = await emulatorOllama(dir);
    const served = await serve(
      ["--provision", "--ollama-bin", bin],
      { ...process.env, OLLAMA_FLEET_BASE_PORT: String(await freePort()), OLLAMA_FLEET_LOG_LEVEL: "info" },
      1,
    );
    const res = await generate(served.url);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(
      res.headers.get("x-ollama-fleet-emulated"),
      null,
      "an explicit binary is not called emulated",
    );
    assert.equal(served.pids.length, 2, "one instance and the orphan guard");
    assert.ok(served.pids.every(alive));
    served.child.kill("SIGKILL");
    assert.deepEqual(await exitOf(served.child), { code: null, signal: "SIGKILL" });
    await allGone(served.pids, 5_000);
  });
});
