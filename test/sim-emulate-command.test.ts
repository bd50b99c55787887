/** `ollama-fleet emulate` as a process: its listening line, help, environment, and clean stops. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { spawnEmulator } from "./helpers/spawn-emulator.js";

const ENTRY = fileURLToPath(new URL("../src/sim/emulate-main.js", import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [ENTRY, ...args], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  createInterface({ input: child.stdout }).on("line", (l) => stdout.push(l));
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, stdout, stderr: () => stderr, exit };
}

async function waitFor(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the emulate command", () => {
  it("prints exactly one JSON listening line on stdout and stops with 0 on SIGTERM", async () => {
    const p = run(["--port", "0", "--models", "llama3.2:1b", "--id", "gpu7"]);
    await waitFor(() => p.stdout.length > 0);
    const line = JSON.parse(p.stdout[0]!) as { msg: string; url: string; port: number };
    assert.equal(line.msg, "listening");
    assert.equal(line.url, `http://127.0.0.1:${line.port}`);
    assert.deepEqual(Object.keys(line), ["msg", "url", "port"]);
    const stats = (await (await fetch(`${line.url}/__sim/stats`)).json()) as { id: string };
    assert.equal(stats.id, "gpu7");
    p.child.kill("SIGTERM");
    assert.equal(await p.exit, 0);
    assert.equal(p.stdout.length, 1, "logs go to stderr");
    assert.match(p.stderr(), /Listening on/);
  });

  it("describes its flags and environment with --help", async () => {
    const p = run(["--help"]);
    assert.equal(await p.exit, 0);
    const help = p.stdout.join("\n");
    for (const flag of [
      "--gpu",
      "--models",
      "--parallel",
      "--max-loaded",
      "--max-queue",
      "--time-scale",
      "--seed",
      "OLLAMA_HOST",
    ]) {
      assert.ok(help.includes(flag), `help mentions ${flag}`);
    }
  });

  it("refuses a bad --gpu with a message and exit code 2", async () => {
    const p = run(["--gpu", "nonsense", "--port", "0"]);
    assert.equal(await p.exit, 2);
    assert.match(p.stderr(), /NAME:VRAM_GB/);
  });

  it("listens where OLLAMA_HOST says and takes Ollama's settings from the environment", async () => {
    const p = run(["--models", "llama3.2:1b", "--time-scale", "100"], {
      OLLAMA_HOST: "127.0.0.1:0",
      OLLAMA_NUM_PARALLEL: "3",
      OLLAMA_KEEP_ALIVE: "-1",
      CUDA_VISIBLE_DEVICES: "-1",
    });
    await waitFor(() => p.stdout.length > 0);
    const { url } = JSON.parse(p.stdout[0]!) as { url: string };
    const gen = await fetch(`${url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2:1b", prompt: "" }),
    });
    assert.equal(gen.status, 200);
    const ps = (await (await fetch(`${url}/api/ps`)).json()) as {
      models: { size_vram: number; expires_at: string; size: number }[];
    };
    assert.equal(ps.models[0]?.size_vram, 0, "CPU only");
    assert.ok(new Date(ps.models[0]!.expires_at).getUTCFullYear() > 2200, "keep-alive forever");
    p.child.kill("SIGINT");
    assert.equal(await p.exit, 0);
  });

  it("exits when its stdin closes if OLLAMA_FLEET_EXIT_ON_STDIN_CLOSE=1, so no orphan outlives its parent", async () => {
    const emu = await spawnEmulator(["--models", "llama3.2:1b"]);
    const exited = new Promise<number | null>((r) => emu.proc.once("exit", (c) => r(c)));
    emu.proc.stdin!.end();
    assert.equal(await exited, 0);
  });
});
