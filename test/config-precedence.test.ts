// Where values come from: defaults < files < OLLAMA_FLEET_* environment < CLI flags.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig, type LoadConfigInput } from "../src/config/load-config.js";
import { settingKeys } from "../src/config/schema.js";
import { fixtureDir, input, loadError, loadFiles } from "./fixtures/config/temp-files.js";

const INI = "[GPU_LoadBalancing]\nMaxBatchSize = 8\n[Gateway]\nListenPort = 12000\nLogLevel = warn\n";

test("a key nothing sets keeps its default", async () => {
  const { config } = await loadFiles({ ini: "[Gateway]\nListenHost = 0.0.0.0\n" });
  assert.equal(config.loadBalancing.maxBatchSize, 4);
  assert.equal(config.gateway.listenPort, 11400);
  assert.equal(config.gateway.listenHost, "0.0.0.0");
});

test("a value in the INI file overrides the default", async () => {
  const { config } = await loadFiles({ ini: INI });
  assert.equal(config.loadBalancing.maxBatchSize, 8);
  assert.equal(config.gateway.listenPort, 12000);
});

test("an OLLAMA_FLEET_* variable overrides the INI file", async () => {
  const env = { OLLAMA_FLEET_MAX_BATCH_SIZE: "16", OLLAMA_FLEET_LISTEN_PORT: "13000" };
  const { config } = await loadFiles({ ini: INI }, { env });
  assert.equal(config.loadBalancing.maxBatchSize, 16);
  assert.equal(config.gateway.listenPort, 13000);
  assert.equal(config.gateway.logLevel, "warn");
});

test("a CLI flag overrides the environment", async () => {
  const env = { OLLAMA_FLEET_LISTEN_PORT: "13000", OLLAMA_FLEET_LOG_LEVEL: "error" };
  const { config } = await loadFiles({ ini: INI }, { env, flags: { listenPort: 14000 } });
  assert.equal(config.gateway.listenPort, 14000);
  assert.equal(config.gateway.logLevel, "error");
});

test("flags may arrive as text, as commander gives them", async () => {
  const text: Record<string, unknown> = {
    listenPort: "15000",
    listenHost: "0.0.0.0",
    adminKey: "k3y",
    logLevel: "debug",
    logFormat: "pretty",
  };
  const { config } = await loadConfig(input({ flags: text as LoadConfigInput["flags"] }));
  assert.equal(config.gateway.listenPort, 15000);
  assert.equal(config.gateway.listenHost, "0.0.0.0");
  assert.equal(config.gateway.adminKey, "k3y");
  assert.equal(config.gateway.logLevel, "debug");
  assert.equal(config.gateway.logFormat, "pretty");
});

test("OLLAMA_FLEET_ADMIN_KEY and OLLAMA_FLEET_LOAD_BALANCING_STRATEGY set their keys", async () => {
  const env = { OLLAMA_FLEET_ADMIN_KEY: "s3cret", OLLAMA_FLEET_LOAD_BALANCING_STRATEGY: "LeastConnections" };
  const { config } = await loadConfig(input({ env }));
  assert.equal(config.gateway.adminKey, "s3cret");
  assert.equal(config.loadBalancing.loadBalancingStrategy, "LeastConnections");
});

test("an empty environment variable counts as unset", async () => {
  const env = { OLLAMA_FLEET_LISTEN_PORT: "", OLLAMA_FLEET_ADMIN_KEY: "" };
  const { config } = await loadFiles({ ini: INI }, { env });
  assert.equal(config.gateway.listenPort, 12000);
  assert.equal(config.gateway.adminKey, undefined);
});

test("OLLAMA_FLEET_CONFIG and OLLAMA_FLEET_INSTANCES name the files when no option does", async () => {
  const fixtures = await fixtureDir();
  try {
    const ini = await fixtures.write("fleet.ini", INI);
    const yaml = await fixtures.write("fleet.yaml", "gpu_instances:\n  - gpu_id: 0\n    port: 11434\n");
    const env = { OLLAMA_FLEET_CONFIG: ini, OLLAMA_FLEET_INSTANCES: yaml };
    const { config, warnings } = await loadConfig(input({ env }));
    assert.equal(config.loadBalancing.maxBatchSize, 8);
    assert.equal(config.instances.length, 1);
    assert.deepEqual(config.sources, { configFile: ini, instancesFile: yaml });
    assert.deepEqual(warnings, []);
  } finally {
    await fixtures.cleanup();
  }
});

test("--config wins over OLLAMA_FLEET_CONFIG, and relative paths resolve against cwd", async () => {
  const fixtures = await fixtureDir();
  try {
    await fixtures.write("chosen.ini", "[GPU_LoadBalancing]\nMaxBatchSize = 2\n");
    const env = { OLLAMA_FLEET_CONFIG: "missing.ini" };
    const { config } = await loadConfig(input({ configFile: "chosen.ini", env, cwd: fixtures.dir }));
    assert.equal(config.loadBalancing.maxBatchSize, 2);
  } finally {
    await fixtures.cleanup();
  }
});

test("a missing file named by OLLAMA_FLEET_CONFIG is a problem that names the variable", async () => {
  const error = await loadError(
    loadConfig(input({ env: { OLLAMA_FLEET_CONFIG: "/nonexistent/fleet.ini" } })),
  );
  assert.equal(error.problems.length, 1);
  assert.equal(error.problems[0]?.file, "/nonexistent/fleet.ini");
  assert.match(error.problems[0]?.message ?? "", /file not found .*OLLAMA_FLEET_CONFIG/);
});

test("every setting's variable is OLLAMA_FLEET_ and its upper snake case name", () => {
  const names = settingKeys().map((k) => [k.iniKey, k.envName]);
  assert.deepEqual(names.slice(0, 3), [
    ["EnableGpuLoadBalancing", "OLLAMA_FLEET_ENABLE_GPU_LOAD_BALANCING"],
    ["LoadBalancingStrategy", "OLLAMA_FLEET_LOAD_BALANCING_STRATEGY"],
    ["HealthCheckIntervalSeconds", "OLLAMA_FLEET_HEALTH_CHECK_INTERVAL_SECONDS"],
  ]);
  const byKey = new Map(names.map(([ini, env]) => [ini, env]));
  assert.equal(byKey.get("MaxBatchSize"), "OLLAMA_FLEET_MAX_BATCH_SIZE");
  assert.equal(byKey.get("BatchWindowMs"), "OLLAMA_FLEET_BATCH_WINDOW_MS");
  assert.equal(byKey.get("EnableKvCacheSharing"), "OLLAMA_FLEET_ENABLE_KV_CACHE_SHARING");
  assert.equal(byKey.get("ListenPort"), "OLLAMA_FLEET_LISTEN_PORT");
  assert.equal(byKey.get("AdminKey"), "OLLAMA_FLEET_ADMIN_KEY");
  assert.equal(byKey.get("BasePort"), "OLLAMA_FLEET_BASE_PORT");
  // One INI key and one variable per setting, across every section.
  assert.equal(new Set(names.map(([ini]) => ini?.toLowerCase())).size, names.length);
  assert.equal(new Set(names.map(([, env]) => env)).size, names.length);
});

test("every setting can be set from the environment", async () => {
  const env = Object.fromEntries(settingKeys().map((k) => [k.envName, k.example]));
  const { config, warnings } = await loadConfig(input({ env }));
  assert.equal(config.gateway.maxRequestBodyBytes, 32 * 1024 * 1024);
  assert.equal(config.gateway.listenHost, "0.0.0.0");
  assert.deepEqual(warnings, []);
});
