// The seed's two example files load as the seed describes them.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { defaultConfig, loadConfig } from "../src/config/load-config.js";
import { input, REPO_ROOT } from "./fixtures/config/temp-files.js";

const INI = join(REPO_ROOT, "examples", "gpu-loadbalancing.ini");
const YAML = join(REPO_ROOT, "examples", "gpu_instances.yaml");

test("the seed's gpu-loadbalancing.ini loads with every value it writes", async () => {
  const { config, warnings } = await loadConfig(input({ configFile: INI }));
  assert.deepEqual(config.loadBalancing, {
    enableGpuLoadBalancing: true,
    loadBalancingStrategy: "WeightedRoundRobin",
    healthCheckIntervalSeconds: 30,
    healthCheckTimeoutSeconds: 5,
    unhealthyThreshold: 3,
    healthyThreshold: 2,
    enableBatchProcessing: true,
    maxBatchSize: 4,
    batchWindowMs: 100,
    enableKvCacheSharing: true,
    maxCacheMemoryPercent: 30,
    enableCircuitBreaker: true,
    circuitBreakerThreshold: 5,
    circuitBreakerResetSeconds: 60,
  });
  assert.deepEqual(config.gateway, defaultConfig().gateway);
  assert.deepEqual(config.instances, []);
  assert.deepEqual(warnings, []);
});

test("the seed's gpu_instances.yaml loads both GPUs with names, ports, limits, models and concurrency", async () => {
  const { config, warnings } = await loadConfig(input({ instancesFile: YAML }));
  assert.deepEqual(config.instances, [
    {
      id: "gpu0-11434",
      gpuId: 0,
      name: "RTX 3060 Ti",
      port: 11434,
      url: "http://127.0.0.1:11434",
      memoryLimitBytes: 7_000_000_000,
      models: ["mistral:7b-instruct-q4_K_M", "deepseek-coder:6.7b"],
      maxConcurrentRequests: 2,
    },
    {
      id: "gpu1-11435",
      gpuId: 1,
      name: "RTX 4070 Ti",
      port: 11435,
      url: "http://127.0.0.1:11435",
      memoryLimitBytes: 11_000_000_000,
      models: ["codegemma:7b", "gemma2:9b"],
      maxConcurrentRequests: 3,
    },
  ]);
  assert.deepEqual(warnings, []);
});

test("loading both examples records their absolute paths as sources", async () => {
  const { config } = await loadConfig(
    input({
      configFile: "examples/gpu-loadbalancing.ini",
      instancesFile: "examples/gpu_instances.yaml",
      cwd: REPO_ROOT,
    }),
  );
  assert.deepEqual(config.sources, { configFile: INI, instancesFile: YAML });
  assert.equal(config.instances.length, 2);
});

test("with no files the configuration is defaultConfig(): seed defaults, gateway defaults, no instances", async () => {
  const { config, warnings } = await loadConfig(input({}));
  assert.deepEqual(config, defaultConfig());
  assert.deepEqual(config.sources, {});
  assert.deepEqual(warnings, []);
});

test("defaultConfig() holds the documented gateway defaults", () => {
  assert.deepEqual(defaultConfig().gateway, {
    listenHost: "127.0.0.1",
    listenPort: 11400,
    adminKey: undefined,
    maxQueueSize: 512,
    queueTimeoutSeconds: 120,
    maxRequestBodyBytes: 32 * 1024 * 1024,
    requestTimeoutSeconds: 600,
    firstTokenTimeoutSeconds: 120,
    stallTimeoutSeconds: 30,
    connectTimeoutSeconds: 5,
    inventoryRefreshSeconds: 10,
    maxAttempts: 3,
    logLevel: "info",
    logFormat: "json",
    enableRequestCoalescing: true,
    maxMergedEmbedInputs: 256,
  });
});

test("defaultConfig() returns a fresh object each time, so callers cannot change each other's defaults", () => {
  const first = defaultConfig();
  first.loadBalancing.maxBatchSize = 99;
  first.gateway.listenPort = 1;
  assert.equal(defaultConfig().loadBalancing.maxBatchSize, 4);
  assert.equal(defaultConfig().gateway.listenPort, 11400);
});
