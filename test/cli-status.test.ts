/** `ollama-fleet status` against a running gateway on emulators: table, --json, --watch, refusals. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { runStatus } from "../src/cli/status-command.js";
import type { StatusReport } from "../src/cli/status-report.js";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";

const MODEL = "llama3.2:1b";
const KEY = "st4tus";
const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

/** Runs the command in-process and collects what it prints. */
async function status(
  flags: Parameters<typeof runStatus>[0],
  extra: Parameters<typeof runStatus>[1] = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runStatus(flags, {
    write: (t) => (out += t),
    writeError: (t) => (err += t),
    env: {},
    tty: false,
    ...extra,
  });
  return { code, out, err };
}

describe("ollama-fleet status", { timeout: 120_000 }, () => {
  let fleet: FleetFixture;
  let drained: string;
  let serving: string;
  before(async () => {
    fleet = await startFleet(
      [
        { args: ["--models", `${MODEL}:1.3:1.2`, "--parallel", "3"] },
        { args: ["--models", `${MODEL}:1.3:1.2`] },
      ],
      (c) => {
        c.gateway.adminKey = KEY;
      },
    );
    [serving, drained] = fleet.gateway.fleet.instances().map((i) => i.id) as [string, string];
    const res = await fetch(`${fleet.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: MODEL, prompt: "hello", stream: false }),
    });
    assert.equal(res.status, 200);
    await res.text();
    const d = await fetch(`${fleet.url}/fleet/instances/${drained}/drain`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}` },
    });
    assert.equal(d.status, 200);
  });
  after(async () => fleet?.close());

  it("prints GPUs, instances with state, score, load and loaded models, and the queue as a table", async () => {
    const { code, out, err } = await status({ gateway: fleet.url, adminKey: KEY });
    assert.equal(err, "");
    assert.equal(code, 1, "a drained instance makes the fleet degraded");
    const lines = out.split("\n");
    assert.match(
      lines[0]!,
      new RegExp(`^ollama-fleet \\S+ at ${fleet.url.replace(/[.]/g, "\\.")} · WeightedRoundRobin`),
    );
    assert.match(lines[1]!, /^DEGRADED · 1\/2 instances healthy · 0 in flight · queue 0\/\d+/);
    const row = (id: string): string => lines.find((l) => l.trimStart().startsWith(id) && !l.includes(","))!;
    const servingRow = row(serving)
      .trim()
      .split(/\s{2,}/);
    assert.deepEqual(servingRow.slice(0, 4), [serving, "emulated 0", "0", "healthy"]);
    assert.match(servingRow[4]!, /^0\.\d\d|1\.00$/, "score");
    assert.equal(servingRow[5], "0/4", "in flight / default capacity");
    assert.equal(servingRow[6], "1", "requests");
    assert.equal(servingRow[8], MODEL, "loaded model");
    const drainedRow = row(drained)
      .trim()
      .split(/\s{2,}/);
    assert.deepEqual(drainedRow.slice(2, 4), ["1", "draining"]);
    assert.equal(drainedRow.at(-1), "none loaded");
    // GPUs: one per instance, with the estimate marked.
    const gpuHead = lines.findIndex((l) => l === "GPUS");
    assert.match(lines[gpuHead + 1]!, /GPU\s+NAME\s+UTIL\s+MEMORY\s+TEMP\s+POWER\s+INSTANCES/);
    assert.match(
      lines[gpuHead + 2]!,
      new RegExp(`^\\s+0\\s+–\\s+0% est\\.\\s+\\d+\\.\\d GB in models.*${serving}$`),
    );
    assert.match(lines[gpuHead + 3]!, new RegExp(`^\\s+1\\s.*${drained}$`));
    assert.ok(lines.some((l) => /est\.: no GPU monitor/.test(l)));
    assert.match(out, /\nQUEUE\n {2}0 waiting of \d+ · oldest 0 ms · 0 queued so far\n/);
    assert.ok(!out.includes("\x1b["), "no colour codes when not on a terminal");
  });

  it("prints a JSON report with the documented shape", async () => {
    const { code, out } = await status({ gateway: fleet.url, adminKey: KEY, json: true });
    assert.equal(code, 1);
    const r = JSON.parse(out) as StatusReport;
    assert.deepEqual(Object.keys(r).sort(), [
      "degradation",
      "gateway",
      "gpus",
      "healthy",
      "inFlight",
      "instances",
      "queue",
    ]);
    assert.deepEqual(r.gateway, {
      url: fleet.url,
      version: r.gateway.version,
      emulated: false,
      strategy: "WeightedRoundRobin",
    });
    assert.equal(r.healthy, false);
    assert.match(r.degradation.join(";"), /1 of 2 instances out of service/);
    assert.deepEqual(
      r.instances.map((i) => [i.id, i.state, i.capacity, i.loadedModels]),
      [
        [serving, "healthy", 4, [MODEL]],
        [drained, "draining", 4, []],
      ],
    );
    assert.equal(typeof r.instances[0]!.score, "number");
    assert.deepEqual(
      r.gpus.map((g) => [g.gpuId, g.source, g.instances, g.loadedModels]),
      [
        [0, "estimated", [serving], [MODEL]],
        [1, "estimated", [drained], []],
      ],
    );
    assert.equal(r.queue.depth, 0);
  });

  it("says the admin key is needed, and exits 2, when called without it", async () => {
    const { code, out, err } = await status({ gateway: fleet.url });
    assert.equal(code, 2);
    assert.equal(out, "");
    assert.match(err, /HTTP 401: admin key required.*--admin-key or set OLLAMA_FLEET_ADMIN_KEY/);
  });

  it("says when no gateway answers", async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r));
    const { code, err } = await status({ gateway: `http://127.0.0.1:${port}` });
    assert.equal(code, 2);
    assert.match(err, new RegExp(`cannot reach the gateway at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
  });

  it("redraws with --watch until interrupted, clearing the screen on a terminal", async () => {
    const stop = new AbortController();
    let frames = 0;
    let out = "";
    const code = await runStatus(
      { gateway: fleet.url, adminKey: KEY, watch: "0.05" },
      {
        write: (t) => {
          out += t;
          if (t.includes("INSTANCES") && ++frames === 3) stop.abort();
        },
        writeError: (t) => assert.fail(t),
        env: {},
        tty: true,
        signal: stop.signal,
      },
    );
    assert.equal(code, 1);
    assert.equal(frames, 3);
    assert.equal(out.split("\x1b[H\x1b[2J").length - 1, 3, "one screen clear per frame");
    assert.match(out, /every 0\.05 s · \d\d:\d\d:\d\d · Ctrl-C to stop/);
    assert.ok(out.includes("\x1b[33mdraining"), "states in colour on a terminal");
  });

  it("runs as the installed command: `ollama-fleet status --json`", async () => {
    // Asynchronous: the gateway answering it runs in this very process.
    const child = await promisify(execFile)(
      process.execPath,
      [CLI, "status", "--gateway", fleet.url, "--json"],
      {
        env: { ...process.env, OLLAMA_FLEET_ADMIN_KEY: KEY },
        encoding: "utf8",
        timeout: 30_000,
      },
    ).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    assert.equal(child.code, 1, child.stderr);
    const report = JSON.parse(child.stdout) as StatusReport;
    assert.equal(report.instances.length, 2);
  });
});
