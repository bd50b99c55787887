/**
 * `ollama-fleet serve --provision` runs its supervisor with the [Supervisor] section of the INI file: a
 * crash-looping instance is given up after the configured number of exits, restarted after the configured
 * backoff, instead of the built-in 5 exits and 1 s.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, it } from "node:test";
import { CLI, failingOllama, freePort, tempDir } from "./helpers/supervisor-fixture.js";

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/** Log lines of a `serve` process until one matches `until`, or the timeout passes. */
function logsUntil(
  child: ChildProcess,
  until: (line: Record<string, unknown>) => boolean,
  timeoutMs: number,
): Promise<Record<string, unknown>[]> {
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no matching log line in time:\n${stderr}\n${JSON.stringify(logs)}`)),
      timeoutMs,
    );
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}:\n${stderr}`)));
    createInterface({ input: child.stdout! }).on("line", (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(line);
      if (until(line)) {
        clearTimeout(timer);
        resolve(logs);
      }
    });
  });
}

it("serve --provision gives up on a crash-looping instance after [Supervisor] CrashLoopExits, with the configured backoff", async () => {
  const dir = await tempDir();
  const bin = await failingOllama(dir);
  const ini = join(dir, "fleet.ini");
  await writeFile(
    ini,
    [
      "[Supervisor]",
      "CrashLoopExits = 2",
      "CrashLoopWindowSeconds = 7",
      "RestartInitialBackoffSeconds = 0.05",
      "RestartJitterRatio = 0",
      "",
    ].join("\n"),
  );
  const child = spawn(
    process.execPath,
    [CLI, "serve", "--port", "0", "--provision", "--config", ini, "--ollama-bin", bin],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        OLLAMA_FLEET_BASE_PORT: String(await freePort()),
        OLLAMA_FLEET_LOG_LEVEL: "info",
      },
    },
  );
  children.push(child);
  // The defaults (5 exits, 1 s doubling) would take over 15 s to fail; the configured values well under.
  const logs = await logsUntil(child, (l) => l.msg === "instance failed", 15_000);
  const failed = logs.find((l) => l.msg === "instance failed");
  assert.match(String(failed?.reason), /^crash loop: 2 exits within 7 s/);
  const restarts = logs.filter((l) => l.msg === "instance restarting").map((l) => String(l.reason));
  assert.equal(restarts.length, 1, restarts.join("\n"));
  assert.match(restarts[0] ?? "", /restart 1 in 50 ms$/);
  const exits = logs.filter((l) => l.msg === "instance exited");
  assert.equal(exits.length, 2);

  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  child.kill("SIGTERM");
  assert.deepEqual(await exited, { code: 0, signal: null });
});
