/**
 * Structured logs: one JSON `request completed` line per request with the fields an operator needs
 * (request id, model, instance, attempts, queue wait, TTFT, tokens, outcome, trace id when traced), and
 * `serve --log-format pretty` printing the same for people.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { pino } from "pino";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";
import { chatBody, MODEL, MODEL_ARGS, post } from "./helpers/resilience.js";
import { spawnEmulator } from "./helpers/spawn-emulator.js";

type Line = Record<string, unknown>;

describe("JSON request logs", () => {
  const lines: Line[] = [];
  const exporter = new InMemorySpanExporter();
  let fleet: FleetFixture;
  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const text of chunk.toString().split("\n"))
          if (text.trim()) lines.push(JSON.parse(text) as Line);
        done();
      },
    });
    fleet = await startFleet([{ args: MODEL_ARGS }], () => {}, {
      logger: pino({ level: "info" }, sink),
      traceExporter: exporter,
    });
  });
  after(async () => fleet?.close());

  const completed = (reqId: string): Line | undefined =>
    lines.find((l) => l.msg === "request completed" && l.reqId === reqId);

  it("writes one `request completed` line with id, model, instance, attempts, queue wait, TTFT, tokens and outcome", async () => {
    const res = await post(fleet.url, "/api/chat", chatBody("log me", 5, { stream: false }), {
      headers: { "x-request-id": "log-1" },
    });
    await res.text();
    const line = completed("log-1");
    assert.ok(line, "a request completed line");
    assert.equal(line.level, 30);
    assert.equal(line.endpoint, "chat");
    assert.equal(line.model, MODEL);
    assert.equal(line.instance, res.headers.get("x-ollama-fleet-instance"));
    assert.equal(line.attempts, 1);
    assert.equal(line.stream, false);
    assert.equal(line.status, 200);
    assert.equal(line.outcome, "ok");
    assert.equal(line.queueWaitMs, 0);
    assert.equal(typeof line.ttftMs, "number");
    assert.ok((line.totalMs as number) >= (line.ttftMs as number));
    assert.ok((line.promptTokens as number) > 0);
    assert.equal(line.outputTokens, 5);
    const root = exporter.getFinishedSpans().find((s) => s.attributes["ollama_fleet.request_id"] === "log-1");
    assert.equal(line.traceId, root?.spanContext().traceId, "the line names the request's trace");
    assert.equal(lines.filter((l) => l.reqId === "log-1" && l.msg === "request completed").length, 1);
  });

  it("logs a refused request with its status and outcome, and no instance", async () => {
    await (
      await post(
        fleet.url,
        "/api/chat",
        { model: "nope", messages: [] },
        { headers: { "x-request-id": "log-404" } },
      )
    ).text();
    const line = completed("log-404");
    assert.equal(line?.status, 404);
    assert.equal(line?.outcome, "client_error");
    assert.equal(line?.instance, undefined);
    assert.equal(line?.attempts, 0);
  });
});

describe("serve --log-format pretty", () => {
  it("prints human-readable lines (no JSON) for startup and for each request", async () => {
    const emulator = await spawnEmulator(["--models", "llama3.2:1b:1.3:1.2", "--time-scale", "50"]);
    const dir = await mkdtemp(join(tmpdir(), "fleet-pretty-"));
    const yaml = join(dir, "instances.yaml");
    await writeFile(yaml, `gpu_instances:\n  - gpu_id: 0\n    port: ${emulator.port}\n`);
    const child = spawn(
      process.execPath,
      [
        join(process.cwd(), "dist/src/cli/main.js"),
        "serve",
        "--instances",
        yaml,
        "--port",
        "0",
        "--log-format",
        "pretty",
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NO_COLOR: "1", OLLAMA_FLEET_ENABLE_GPU_MONITOR: "false" },
      },
    );
    let out = "";
    child.stdout!.on("data", (d: Buffer) => void (out += d.toString()));
    const waitFor = async (re: RegExp): Promise<RegExpMatchArray> => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        if (Date.now() > deadline || child.exitCode !== null) assert.fail(`no ${re} in:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      const url = (await waitFor(/INFO.*gateway listening[\s\S]*?url: "(http:\/\/[^"]+)"/))[1]!;
      const res = await post(
        url,
        "/api/generate",
        { model: MODEL, prompt: "hi", stream: false, options: { num_predict: 2 } },
        { headers: { "x-request-id": "pretty-1" } },
      );
      await res.text();
      await waitFor(/INFO.*request completed\n(?:\s+\S.*\n)*?\s+reqId: "pretty-1"/);
      assert.match(out, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO/m, "lines start with a time and a level name");
      for (const line of out.split("\n"))
        assert.ok(!line.trim().startsWith('{"level"'), `a JSON line: ${line}`);
    } finally {
      child.kill("SIGTERM");
      if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
      await emulator.stop();
    }
  });
});
