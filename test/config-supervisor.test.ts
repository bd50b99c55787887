// [Supervisor]: the supervisor's timers from INI, environment and flags, checked like every other section.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../src/config/load-config.js";
import { defaultConfig } from "../src/config/schema.js";
import { supervisorTimers } from "../src/config/supervisor-schema.js";
import { DEFAULT_SUPERVISOR_SETTINGS, supervisorSettings } from "../src/supervisor/supervisor-settings.js";
import { input, loadError, loadFiles } from "./fixtures/config/temp-files.js";

test("the [Supervisor] defaults are exactly the supervisor's built-in defaults", () => {
  assert.deepEqual(
    supervisorSettings(supervisorTimers(defaultConfig().supervisor)),
    DEFAULT_SUPERVISOR_SETTINGS,
  );
  const s = defaultConfig().supervisor;
  assert.equal(s.startTimeoutSeconds, 60);
  assert.equal(s.readinessPollMs, 250);
  assert.equal(s.restartJitterRatio, 0.2);
  assert.equal(s.crashLoopWindowSeconds, 120);
});

test("an INI [Supervisor] section becomes the supervisor's settings in milliseconds", async () => {
  const ini = [
    "[Supervisor]",
    "StartTimeoutSeconds = 30",
    "ReadinessPollMs = 100",
    "LivenessIntervalSeconds = 2.5",
    "LivenessTimeoutSeconds = 1",
    "WedgeThreshold = 4",
    "StopGraceSeconds = 3",
    "PreloadTimeoutSeconds = 900",
    "PullTimeoutSeconds = 7200",
    "RestartInitialBackoffSeconds = 0.5",
    "RestartMaxBackoffSeconds = 30",
    "RestartBackoffMultiplier = 1.5",
    "RestartJitterRatio = 0",
    "CrashLoopExits = 2",
    "CrashLoopWindowSeconds = 10",
    "StableAfterSeconds = 0",
    "OomWindowSeconds = 300",
    "OomCooldownSeconds = 0",
    "",
  ].join("\n");
  const { config, warnings } = await loadFiles({ ini });
  assert.deepEqual(warnings, []);
  const s = supervisorSettings(supervisorTimers(config.supervisor));
  assert.deepEqual(
    {
      startTimeoutMs: s.startTimeoutMs,
      readinessPollMs: s.readinessPollMs,
      healthIntervalMs: s.healthIntervalMs,
      healthTimeoutMs: s.healthTimeoutMs,
      wedgeThreshold: s.wedgeThreshold,
      stopGraceMs: s.stopGraceMs,
      preloadTimeoutMs: s.preloadTimeoutMs,
      pullTimeoutMs: s.pullTimeoutMs,
      restart: s.restart,
      oom: s.oom,
    },
    {
      startTimeoutMs: 30_000,
      readinessPollMs: 100,
      healthIntervalMs: 2_500,
      healthTimeoutMs: 1_000,
      wedgeThreshold: 4,
      stopGraceMs: 3_000,
      preloadTimeoutMs: 900_000,
      pullTimeoutMs: 7_200_000,
      restart: {
        initialBackoffMs: 500,
        maxBackoffMs: 30_000,
        multiplier: 1.5,
        jitterRatio: 0,
        crashLoopExits: 2,
        crashLoopWindowMs: 10_000,
        stableAfterMs: 0,
      },
      oom: { windowMs: 300_000, cooldownMs: 0 },
    },
  );
});

test("[Supervisor] keys have environment variables that win over the file", async () => {
  const env = { OLLAMA_FLEET_CRASH_LOOP_EXITS: "7", OLLAMA_FLEET_LIVENESS_INTERVAL_SECONDS: "0.25" };
  const { config } = await loadFiles({ ini: "[Supervisor]\nCrashLoopExits = 2\n" }, { env });
  assert.equal(config.supervisor.crashLoopExits, 7);
  assert.equal(supervisorTimers(config.supervisor).healthIntervalMs, 250);
});

test("bad [Supervisor] values are all reported at once, each with its key, line and a valid example", async () => {
  const ini = [
    "[Supervisor]",
    "RestartJitterRatio = 1",
    "CrashLoopExits = 0",
    "LivenessIntervalSeconds = 5s",
    "ReadinessPollMs = 0.5",
    "RestartBackoffMultiplier = 0.5",
    "RestartInitialBackoffSeconds = 10",
    "RestartMaxBackoffSeconds = 2",
    "StartTimeoutSeconds = 0",
    "",
  ].join("\n");
  const error = await loadError(loadFiles({ ini }));
  const seen = error.problems.map((p) => [p.key, p.line, p.example]);
  assert.deepEqual(seen, [
    ["[Supervisor] RestartJitterRatio", 2, "RestartJitterRatio = 0.2"],
    ["[Supervisor] CrashLoopExits", 3, "CrashLoopExits = 5"],
    ["[Supervisor] LivenessIntervalSeconds", 4, "LivenessIntervalSeconds = 5"],
    ["[Supervisor] ReadinessPollMs", 5, "ReadinessPollMs = 250"],
    ["[Supervisor] RestartBackoffMultiplier", 6, "RestartBackoffMultiplier = 2"],
    ["[Supervisor] RestartMaxBackoffSeconds", 8, "RestartMaxBackoffSeconds = 10"],
    ["[Supervisor] StartTimeoutSeconds", 9, "StartTimeoutSeconds = 60"],
  ]);
  const message = (key: string) => error.problems.find((p) => p.key === `[Supervisor] ${key}`)?.message;
  assert.match(message("RestartJitterRatio") ?? "", /from 0 up to \(not including\) 1/);
  assert.match(message("LivenessIntervalSeconds") ?? "", /without a unit/);
  assert.match(
    message("RestartMaxBackoffSeconds") ?? "",
    /not be shorter than RestartInitialBackoffSeconds \(10\)/,
  );
  assert.match(error.message, /config\.ini:8: \[Supervisor\] RestartMaxBackoffSeconds = "2"/);
});

test("an initial backoff past the default ceiling names the key that was set, in its own source's syntax", async () => {
  const env = { OLLAMA_FLEET_RESTART_INITIAL_BACKOFF_SECONDS: "90" };
  const error = await loadError(loadConfig(input({ env })));
  assert.equal(error.problems.length, 1);
  const [p] = error.problems;
  assert.equal(p?.key, "OLLAMA_FLEET_RESTART_INITIAL_BACKOFF_SECONDS");
  assert.equal(p?.file, "environment");
  assert.match(p?.message ?? "", /not be longer than RestartMaxBackoffSeconds \(60\)/);
  assert.equal(p?.example, "OLLAMA_FLEET_RESTART_INITIAL_BACKOFF_SECONDS=60");
});

test("every value [Supervisor] accepts, at its edges, is one the supervisor starts with", async () => {
  const edges = {
    restartJitterRatio: "0.999",
    restartInitialBackoffSeconds: "0",
    restartMaxBackoffSeconds: "0",
    stableAfterSeconds: "0",
    oomCooldownSeconds: "0",
    // Below a millisecond: still a positive duration, never a 0 ms timer.
    livenessIntervalSeconds: "0.0001",
    crashLoopWindowSeconds: "0.0001",
    restartBackoffMultiplier: "1",
    crashLoopExits: "1",
    wedgeThreshold: "1",
    readinessPollMs: "1",
  };
  const { config } = await loadConfig(input({ flags: edges }));
  const s = supervisorSettings(supervisorTimers(config.supervisor));
  assert.equal(s.healthIntervalMs, 1);
  assert.equal(s.restart.crashLoopWindowMs, 1);
  assert.equal(s.restart.maxBackoffMs, 0);
});
