// Invalid values: each kind gets a message naming file, key, value and a valid example; all at once.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { formatConfigProblems, loadConfig, type LoadConfigInput } from "../src/config/load-config.js";
import { LOAD_BALANCING_STRATEGIES } from "../src/config/schema.js";
import { fixtureDir, input, loadError, loadFiles } from "./fixtures/config/temp-files.js";

/** Flags as commander hands them over: text, unchecked, possibly wrong. */
function asFlags(flags: Record<string, unknown>): LoadConfigInput["flags"] {
  return flags as LoadConfigInput["flags"];
}

/** The one problem loading `ini` (in the section its key belongs to) produces. */
async function onlyProblem(ini: string) {
  const error = await loadError(loadFiles({ ini }));
  assert.equal(error.problems.length, 1, error.message);
  return error.problems[0]!;
}

test("a word where a count belongs is reported as file, [Section] Key, value, expectation and example", async () => {
  const problem = await onlyProblem("[GPU_LoadBalancing]\nMaxBatchSize = abc\n");
  assert.deepEqual(problem, {
    file: "config.ini",
    key: "[GPU_LoadBalancing] MaxBatchSize",
    value: "abc",
    message: "expected a whole number >= 1",
    example: "MaxBatchSize = 4",
    line: 2,
  });
  assert.equal(
    formatConfigProblems([problem]),
    'config.ini:2: [GPU_LoadBalancing] MaxBatchSize = "abc": expected a whole number >= 1 (example: MaxBatchSize = 4)',
  );
});

test('a unit on a seconds key ("5s") is an error that says to write the number without it', async () => {
  const problem = await onlyProblem("[GPU_LoadBalancing]\nHealthCheckIntervalSeconds = 5s\n");
  assert.equal(problem.message, "expected a number of seconds > 0, written without a unit");
  assert.equal(problem.example, "HealthCheckIntervalSeconds = 30");
});

test("numbers parse strictly: fractions for counts, hex, exponents and zero seconds are rejected", async () => {
  const ini = [
    "[GPU_LoadBalancing]",
    "UnhealthyThreshold = 2.5",
    "HealthyThreshold = 0x2",
    "CircuitBreakerThreshold = 1e3",
    "CircuitBreakerResetSeconds = 0",
    "BatchWindowMs = -1",
    "MaxBatchSize =",
  ].join("\n");
  const error = await loadError(loadFiles({ ini }));
  assert.deepEqual(
    error.problems.map((p) => [p.key, p.message]),
    [
      ["[GPU_LoadBalancing] UnhealthyThreshold", "expected a whole number >= 1"],
      ["[GPU_LoadBalancing] HealthyThreshold", "expected a whole number >= 1"],
      ["[GPU_LoadBalancing] CircuitBreakerThreshold", "expected a whole number >= 1"],
      ["[GPU_LoadBalancing] CircuitBreakerResetSeconds", "expected a number of seconds > 0"],
      ["[GPU_LoadBalancing] BatchWindowMs", "expected a whole number of milliseconds >= 0"],
      ["[GPU_LoadBalancing] MaxBatchSize", "empty: expected a whole number >= 1"],
    ],
  );
});

test("fractional seconds are accepted", async () => {
  const { config } = await loadFiles({ ini: "[GPU_LoadBalancing]\nHealthCheckTimeoutSeconds = 0.5\n" });
  assert.equal(config.loadBalancing.healthCheckTimeoutSeconds, 0.5);
});

test("an unknown strategy lists the valid ones and suggests the closest", async () => {
  const problem = await onlyProblem("[GPU_LoadBalancing]\nLoadBalancingStrategy = LeastConnection\n");
  assert.equal(
    problem.message,
    `expected one of ${LOAD_BALANCING_STRATEGIES.join(", ")} (did you mean LeastConnections?)`,
  );
});

test("strategy names match ignoring case and separators and come out in canonical spelling", async () => {
  const { config } = await loadFiles({
    ini: "[GPU_LoadBalancing]\nLoadBalancingStrategy = power-of-two-choices\n",
  });
  assert.equal(config.loadBalancing.loadBalancingStrategy, "PowerOfTwoChoices");
  assert.deepEqual(
    [...LOAD_BALANCING_STRATEGIES],
    ["WeightedRoundRobin", "RoundRobin", "LeastConnections", "Random", "PowerOfTwoChoices"],
  );
});

test("an invalid boolean lists the accepted spellings", async () => {
  const problem = await onlyProblem("[GPU_LoadBalancing]\nEnableCircuitBreaker = maybe\n");
  assert.equal(problem.message, "expected true or false (yes/no and 1/0 work too)");
});

test("a percentage above 100, or with a % sign, is rejected", async () => {
  assert.equal(
    (await onlyProblem("MaxCacheMemoryPercent = 101\n")).message,
    "expected a number from 0 to 100",
  );
  assert.equal(
    (await onlyProblem("MaxCacheMemoryPercent = 30%\n")).message,
    "expected a number from 0 to 100, written without a unit",
  );
});

test("a listen port outside 0..65535 and a listen host with a scheme are rejected", async () => {
  assert.equal(
    (await onlyProblem("[Gateway]\nListenPort = 70000\n")).message,
    "expected a whole number from 0 to 65535",
  );
  assert.match(
    (await onlyProblem("[Gateway]\nListenHost = http://0.0.0.0\n")).message,
    /host name or IP address/,
  );
  assert.match(
    (await onlyProblem("[Gateway]\nListenHost = 0.0.0.0:11400\n")).message,
    /without scheme or port/,
  );
});

test("IPv6 listen hosts are accepted, with or without brackets", async () => {
  const { config } = await loadFiles({ ini: "[Gateway]\nListenHost = [::1]\n" });
  assert.equal(config.gateway.listenHost, "::1");
});

test("log level and format are matched ignoring case; other values list the valid ones", async () => {
  const { config } = await loadFiles({ ini: "[Gateway]\nLogLevel = DEBUG\nLogFormat = Pretty\n" });
  assert.equal(config.gateway.logLevel, "debug");
  assert.equal(config.gateway.logFormat, "pretty");
  const problem = await onlyProblem("[Gateway]\nLogLevel = verbose\n");
  assert.equal(problem.message, "expected one of trace, debug, info, warn, error, fatal, silent");
});

test('MaxRequestBodyBytes accepts "32MB" (10^6) and "32MiB" (2^20) as well as bytes', async () => {
  const mb = await loadFiles({ ini: "[Gateway]\nMaxRequestBodyBytes = 32MB\n" });
  assert.equal(mb.config.gateway.maxRequestBodyBytes, 32_000_000);
  const mib = await loadFiles({ ini: "[Gateway]\nMaxRequestBodyBytes = 32MiB\n" });
  assert.equal(mib.config.gateway.maxRequestBodyBytes, 33_554_432);
  const bytes = await loadFiles({ ini: "[Gateway]\nMaxRequestBodyBytes = 1048576\n" });
  assert.equal(bytes.config.gateway.maxRequestBodyBytes, 1_048_576);
  assert.match((await onlyProblem("[Gateway]\nMaxRequestBodyBytes = lots\n")).message, /a size such as 7GB/);
});

test("an empty AdminKey means no admin key", async () => {
  const { config } = await loadFiles({ ini: "[Gateway]\nAdminKey =\n" });
  assert.equal(config.gateway.adminKey, undefined);
});

test("the admin key never appears in a problem report", () => {
  const problem = {
    file: "command line",
    key: "--admin-key",
    value: "hunter2",
    message: "expected text",
    example: "",
  };
  assert.equal(formatConfigProblems([problem]), 'command line: --admin-key = "***": expected text');
});

test("bad values in the environment and on the command line name the variable or flag", async () => {
  const env = { OLLAMA_FLEET_MAX_BATCH_SIZE: "many" };
  const error = await loadError(loadConfig(input({ env, flags: asFlags({ listenPort: "eighty" }) })));
  assert.equal(
    formatConfigProblems(error.problems),
    [
      'environment: OLLAMA_FLEET_MAX_BATCH_SIZE = "many": expected a whole number >= 1 (example: OLLAMA_FLEET_MAX_BATCH_SIZE=4)',
      'command line: --listen-port = "eighty": expected a whole number from 0 to 65535 (example: --listen-port 11400)',
    ].join("\n"),
  );
});

test("every problem across INI, YAML, environment and flags is reported at once, in reading order", async () => {
  const ini =
    "[GPU_LoadBalancing]\nMaxBatchSize = abc\nHealthCheckIntervalSeconds = 5s\n[Gateway]\nLogFormat = xml\n";
  const yaml = "gpu_instances:\n  - gpu_id: 0\n    port: 11434\n    memory_limit: 7 gigs\n  - gpu_id: zero\n";
  const error = await loadError(
    loadFiles(
      { ini, yaml },
      { env: { OLLAMA_FLEET_LISTEN_PORT: "-1" }, flags: asFlags({ logLevel: "loud" }) },
    ),
  );
  assert.deepEqual(
    error.problems.map((p) => [p.file, p.key]),
    [
      ["config.ini", "[GPU_LoadBalancing] MaxBatchSize"],
      ["config.ini", "[GPU_LoadBalancing] HealthCheckIntervalSeconds"],
      ["config.ini", "[Gateway] LogFormat"],
      ["instances.yaml", "gpu_instances[0].memory_limit"],
      ["instances.yaml", "gpu_instances[1].gpu_id"],
      ["instances.yaml", "gpu_instances[1].port"],
      ["environment", "OLLAMA_FLEET_LISTEN_PORT"],
      ["command line", "--log-level"],
    ],
  );
  const lines = error.message.split("\n");
  assert.equal(lines[0], "Invalid configuration (8 problems):");
  assert.equal(lines.length, 9);
  for (const problem of error.problems) assert.notEqual(problem.example, "");
});

test("a missing file is a problem that gives the path looked at", async () => {
  const fixtures = await fixtureDir();
  try {
    const error = await loadError(loadConfig(input({ configFile: "nope.ini", cwd: fixtures.dir })));
    assert.equal(error.problems[0]?.file, "nope.ini");
    assert.equal(
      error.problems[0]?.message,
      `file not found (looked for ${join(fixtures.dir, "nope.ini")}, named by --config)`,
    );
  } finally {
    await fixtures.cleanup();
  }
});

test("a YAML file given as --config (or an INI file as --instances) is caught before parsing", async () => {
  const error = await loadError(loadConfig(input({ configFile: "gpus.yaml", instancesFile: "fleet.ini" })));
  assert.deepEqual(
    error.problems.map((p) => p.message),
    [
      "--config expects an INI file; were --config and --instances swapped?",
      "--instances expects a YAML file; were --config and --instances swapped?",
    ],
  );
});

test("a YAML syntax error is a problem with its line number", async () => {
  const error = await loadError(loadFiles({ yaml: "gpu_instances:\n  - gpu_id: 0\n    port: [11434\n" }));
  assert.equal(error.problems.length, 1);
  assert.equal(error.problems[0]?.file, "instances.yaml");
  assert.match(error.problems[0]?.message ?? "", /^YAML syntax: /);
  assert.equal(typeof error.problems[0]?.line, "number");
});

test("a YAML key written twice in one entry is a syntax problem", async () => {
  const error = await loadError(
    loadFiles({ yaml: "gpu_instances:\n  - gpu_id: 0\n    port: 1\n    port: 2\n" }),
  );
  assert.match(error.problems[0]?.message ?? "", /unique/);
  assert.equal(error.problems[0]?.line, 4);
});

test("[Traffic] session admission: on with a 60 s hold by default, read from the file, a bad hold reported", async () => {
  const defaults = (await loadFiles({ ini: "[Traffic]\n" })).config;
  assert.equal(defaults.traffic.sessionAdmission, true);
  assert.equal(defaults.traffic.sessionHoldSeconds, 60);
  const set = (await loadFiles({ ini: "[Traffic]\nSessionAdmission = no\nSessionHoldSeconds = 7.5\n" }))
    .config;
  assert.equal(set.traffic.sessionAdmission, false);
  assert.equal(set.traffic.sessionHoldSeconds, 7.5);
  const problem = await onlyProblem("[Traffic]\nSessionHoldSeconds = 0\n");
  assert.equal(problem.key, "[Traffic] SessionHoldSeconds");
  assert.equal(problem.message, "expected a number of seconds > 0");
  assert.equal(problem.example, "SessionHoldSeconds = 60");
});
