// Unknown keys, sections and variables are never silently ignored: they warn, with a suggestion.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatConfigWarnings, loadConfig } from "../src/config/load-config.js";
import { closestMatch } from "../src/config/suggest.js";
import { input, loadError, loadFiles } from "./fixtures/config/temp-files.js";

test("a misspelt INI key warns with its line and the key it probably meant", async () => {
  const { config, warnings } = await loadFiles({ ini: "[GPU_LoadBalancing]\nMaxBatchSze = 8\n" });
  assert.equal(config.loadBalancing.maxBatchSize, 4);
  assert.deepEqual(warnings, [
    {
      file: "config.ini",
      key: "[GPU_LoadBalancing] MaxBatchSze",
      message: "unknown key, ignored (did you mean MaxBatchSize?)",
      line: 2,
    },
  ]);
  assert.equal(
    formatConfigWarnings(warnings),
    "config.ini:2: [GPU_LoadBalancing] MaxBatchSze: unknown key, ignored (did you mean MaxBatchSize?)",
  );
});

test("a misspelt section warns once, with a suggestion, and its keys are not applied", async () => {
  const { config, warnings } = await loadFiles({ ini: "[Gatway]\nListenPort = 1\nLogLevel = debug\n" });
  assert.equal(config.gateway.listenPort, 11400);
  assert.deepEqual(
    warnings.map((w) => [w.key, w.message, w.line]),
    [["[Gatway]", "unknown section, its keys are ignored (did you mean [Gateway]?)", 1]],
  );
});

test("a key in the wrong section says which section it belongs in", async () => {
  const { config, warnings } = await loadFiles({ ini: "[GPU_LoadBalancing]\nListenPort = 1\n" });
  assert.equal(config.gateway.listenPort, 11400);
  assert.equal(warnings[0]?.message, "belongs in [Gateway], so it is ignored here");
});

test("a key far from every known key warns without a guess", async () => {
  const { warnings } = await loadFiles({ ini: "[Gateway]\nColour = blue\n" });
  assert.equal(warnings[0]?.message, "unknown key, ignored");
});

test("an unknown OLLAMA_FLEET_* variable warns with the variable it probably meant", async () => {
  const env = {
    OLLAMA_FLEET_MAX_BATCH: "3",
    OLLAMA_FLEET_LISTEN_PROT: "1",
    OLLAMA_FLEET_ZZZ: "1",
    PATH: "/bin",
  };
  const { warnings } = await loadConfig(input({ env }));
  assert.deepEqual(
    warnings.map((w) => [w.file, w.key, w.message]),
    [
      [
        "environment",
        "OLLAMA_FLEET_MAX_BATCH",
        "unknown variable, ignored (did you mean OLLAMA_FLEET_MAX_BATCH_SIZE?)",
      ],
      [
        "environment",
        "OLLAMA_FLEET_LISTEN_PROT",
        "unknown variable, ignored (did you mean OLLAMA_FLEET_LISTEN_PORT?)",
      ],
      ["environment", "OLLAMA_FLEET_ZZZ", "unknown variable, ignored"],
    ],
  );
});

test("OLLAMA_FLEET_CONFIG and OLLAMA_FLEET_INSTANCES are known variables, not warned about", async () => {
  const { warnings } = await loadConfig(
    input({ env: { OLLAMA_FLEET_CONFIG: "", OLLAMA_FLEET_INSTANCES: "" } }),
  );
  assert.deepEqual(warnings, []);
});

test("unknown keys in a YAML entry and at the top level warn with suggestions and lines", async () => {
  const yaml = "gpu_instance: []\ngpu_instances:\n  - gpu_id: 0\n    port: 11434\n    memry_limit: 7GB\n";
  const { config, warnings } = await loadFiles({ yaml });
  assert.equal(config.instances[0]?.memoryLimitBytes, undefined);
  assert.deepEqual(
    warnings.map((w) => [w.key, w.message, w.line]),
    [
      ["gpu_instance", "unknown top-level key, ignored (did you mean gpu_instances?)", 1],
      ["gpu_instances[0].memry_limit", "unknown key, ignored (did you mean memory_limit?)", 5],
    ],
  );
});

test("camelCase YAML keys are pointed to their snake_case spelling", async () => {
  const { warnings } = await loadFiles({
    yaml: "gpu_instances:\n  - gpu_id: 0\n    port: 1\n    maxConcurrentRequests: 2\n",
  });
  assert.equal(warnings[0]?.message, "unknown key, ignored (did you mean max_concurrent_requests?)");
});

test("CLI options that are not settings (such as config) are the CLI's business and do not warn", async () => {
  const { warnings } = await loadConfig(
    input({ flags: { config: "x.ini", verbose: true, listenPort: undefined } }),
  );
  assert.deepEqual(warnings, []);
});

test("a health check timeout not shorter than its interval warns, naming where it was set", async () => {
  const ini = "[GPU_LoadBalancing]\nHealthCheckIntervalSeconds = 5\nHealthCheckTimeoutSeconds = 10\n";
  const { warnings } = await loadFiles({ ini });
  assert.deepEqual(
    warnings.map((w) => [w.file, w.key, w.message]),
    [
      [
        "config.ini",
        "[GPU_LoadBalancing] HealthCheckTimeoutSeconds",
        "10 is not shorter than HealthCheckIntervalSeconds (5), so checks can overlap",
      ],
    ],
  );
});

test("warnings found alongside problems travel with the ConfigError", async () => {
  const error = await loadError(loadFiles({ ini: "[Gateway]\nListenPrt = 1\nListenPort = x\n" }));
  assert.equal(error.warnings.length, 1);
  assert.match(
    error.message,
    /Warnings:\nconfig\.ini:2: \[Gateway\] ListenPrt: unknown key, ignored \(did you mean ListenPort\?\)/,
  );
});

test("suggestions tolerate typos, dropped words and case, but not unrelated names", () => {
  const keys = ["MaxBatchSize", "ListenPort", "LogLevel"];
  assert.equal(closestMatch("maxbatchsize", keys), "MaxBatchSize");
  assert.equal(closestMatch("MaxBatch", keys), "MaxBatchSize");
  assert.equal(closestMatch("LisenPort", keys), "ListenPort");
  assert.equal(closestMatch("Colour", keys), undefined);
});
