// The gpu_instances list: sizes, urls, ids, clashes, and the shapes a file may take.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadError, loadFiles } from "./fixtures/config/temp-files.js";

/** A one-entry gpu_instances file from the entry's lines. */
function oneEntry(...lines: string[]): string {
  return `gpu_instances:\n  - ${lines.join("\n    ")}\n`;
}

test("memory_limit takes decimal and binary units and plain bytes", async () => {
  const limits = ["7GB", "7.5GB", "512MB", "7GiB", "7 gb", "8000000000"];
  const yaml = `gpu_instances:\n${limits.map((l, i) => `  - {gpu_id: ${i}, port: ${11434 + i}, memory_limit: ${l}}`).join("\n")}\n`;
  const { config } = await loadFiles({ yaml });
  assert.deepEqual(
    config.instances.map((i) => i.memoryLimitBytes),
    [7e9, 7.5e9, 512e6, 7 * 2 ** 30, 7e9, 8e9],
  );
});

test("a memory_limit so small it must be a forgotten unit warns", async () => {
  const { config, warnings } = await loadFiles({
    yaml: oneEntry("gpu_id: 0", "port: 11434", "memory_limit: 7"),
  });
  assert.equal(config.instances[0]?.memoryLimitBytes, 7);
  assert.equal(warnings[0]?.message, "7 is read as 7 bytes; write 7GB for gigabytes");
});

test("an unreadable memory_limit names the entry, the value and an example", async () => {
  const error = await loadError(
    loadFiles({ yaml: oneEntry("gpu_id: 0", "port: 11434", "memory_limit: 7 gigs") }),
  );
  assert.deepEqual(error.problems, [
    {
      file: "instances.yaml",
      key: "gpu_instances[0].memory_limit",
      value: "7 gigs",
      message: "expected a size such as 7GB, 7.5GB, 512MB, 7GiB or a whole number of bytes",
      example: "memory_limit: 7GB",
      line: 4,
    },
  ]);
});

test("url defaults to http://127.0.0.1:<port>, id to gpu<gpu_id>-<port>, models to [], name to GPU <n>", async () => {
  const { config } = await loadFiles({ yaml: oneEntry("gpu_id: 2", "port: 11500") });
  assert.deepEqual(config.instances, [
    {
      id: "gpu2-11500",
      gpuId: 2,
      name: "GPU 2",
      port: 11500,
      url: "http://127.0.0.1:11500",
      memoryLimitBytes: undefined,
      models: [],
      maxConcurrentRequests: undefined,
    },
  ]);
});

test("an explicit url attaches an instance elsewhere and gives the port", async () => {
  const yaml = oneEntry("gpu_id: 0", "id: box-a", "url: https://gpu-box.lan:8443/ollama/");
  const { config } = await loadFiles({ yaml });
  assert.equal(config.instances[0]?.url, "https://gpu-box.lan:8443/ollama");
  assert.equal(config.instances[0]?.port, 8443);
  assert.equal(config.instances[0]?.id, "box-a");
});

test("a url without a port takes the entry's port", async () => {
  const { config } = await loadFiles({ yaml: oneEntry("gpu_id: 0", "port: 11434", "url: http://10.0.0.5") });
  assert.equal(config.instances[0]?.url, "http://10.0.0.5:11434");
});

test("a port that contradicts the url's port, or a url that is not http(s), is a problem", async () => {
  const yaml = `gpu_instances:\n  - {gpu_id: 0, port: 11434, url: "http://10.0.0.5:9999"}\n  - {gpu_id: 1, url: "ftp://10.0.0.5"}\n`;
  const error = await loadError(loadFiles({ yaml }));
  assert.deepEqual(
    error.problems.map((p) => [p.key, p.value, p.message]),
    [
      [
        "gpu_instances[0].port",
        "11434",
        "does not match the port in url (9999); leave port out when url is set",
      ],
      [
        "gpu_instances[1].url",
        "ftp://10.0.0.5",
        "expected an http:// or https:// URL without credentials, query or fragment, such as http://10.0.0.5:11434",
      ],
    ],
  );
});

test("gpu_id -1 is a CPU instance; other negative or fractional ids are problems", async () => {
  const { config } = await loadFiles({ yaml: oneEntry("gpu_id: -1", "port: 11434") });
  assert.equal(config.instances[0]?.name, "CPU");
  assert.equal(config.instances[0]?.id, "gpu-1-11434");
  const error = await loadError(
    loadFiles({ yaml: "gpu_instances:\n  - {gpu_id: -2, port: 1}\n  - {gpu_id: 0.5, port: 2}\n" }),
  );
  assert.deepEqual(
    error.problems.map((p) => [p.key, p.message]),
    [
      ["gpu_instances[0].gpu_id", "expected a whole number >= 0, or -1 for a CPU instance"],
      ["gpu_instances[1].gpu_id", "expected a whole number >= 0, or -1 for a CPU instance"],
    ],
  );
});

test("missing gpu_id and port are problems on the entry's line", async () => {
  const error = await loadError(loadFiles({ yaml: "gpu_instances:\n  - name: spare\n" }));
  assert.deepEqual(
    error.problems.map((p) => [p.key, p.message, p.line]),
    [
      ["gpu_instances[0].gpu_id", "missing: expected a whole number >= 0, or -1 for a CPU instance", 2],
      ["gpu_instances[0].port", "missing: expected a whole number from 1 to 65535 (or a url)", 2],
    ],
  );
});

test("max_concurrent_requests must be a whole number >= 1 and models a list of names", async () => {
  const yaml = oneEntry("gpu_id: 0", "port: 1", "max_concurrent_requests: 0", "models: llama3");
  const error = await loadError(loadFiles({ yaml }));
  assert.deepEqual(
    error.problems.map((p) => [p.key, p.message]),
    [
      ["gpu_instances[0].max_concurrent_requests", "expected a whole number >= 1"],
      ["gpu_instances[0].models", "expected a list of model names such as [mistral:7b-instruct-q4_K_M]"],
    ],
  );
});

test("two instances on the same port of the same host are a problem; localhost and 127.0.0.1 are one host", async () => {
  const yaml = [
    "gpu_instances:",
    "  - {gpu_id: 0, port: 11434}",
    "  - {gpu_id: 1, port: 11434}",
    '  - {gpu_id: 2, url: "http://localhost:11434"}',
    '  - {gpu_id: 3, url: "http://10.0.0.5:11434"}',
  ].join("\n");
  const error = await loadError(loadFiles({ yaml }));
  assert.deepEqual(
    error.problems.map((p) => [p.key, p.message, p.line]),
    [
      [
        "gpu_instances[1].port",
        "localhost:11434 is already used by gpu_instances[0]; each instance needs its own port",
        3,
      ],
      [
        "gpu_instances[2].url",
        "localhost:11434 is already used by gpu_instances[0]; each instance needs its own port",
        4,
      ],
    ],
  );
});

test("two instances with the same id are a problem, whether the id is explicit or derived", async () => {
  const yaml =
    'gpu_instances:\n  - {gpu_id: 0, port: 1, id: main}\n  - {gpu_id: 1, port: 2, id: main}\n  - {gpu_id: 0, url: "http://10.0.0.5:1"}\n  - {gpu_id: 0, url: "http://10.0.0.6:1"}\n';
  const error = await loadError(loadFiles({ yaml }));
  assert.deepEqual(
    error.problems.map((p) => [p.key, p.value, p.message]),
    [
      [
        "gpu_instances[1].id",
        "main",
        'id "main" is already used by gpu_instances[0]; give one of them another id',
      ],
      [
        "gpu_instances[3].id",
        "gpu0-1",
        'id "gpu0-1" is already used by gpu_instances[2]; give one of them another id',
      ],
    ],
  );
});

test("an instance on the gateway's own listen address is a problem", async () => {
  const error = await loadError(
    loadFiles({ yaml: oneEntry("gpu_id: 0", "port: 12345") }, { flags: { listenPort: 12345 } }),
  );
  assert.equal(error.problems[0]?.key, "gpu_instances[0].port");
  assert.match(
    error.problems[0]?.message ?? "",
    /gateway itself listens on port 12345 \(ListenPort from --listen-port\)/,
  );
});

test("a file that is just the list, without gpu_instances:, is accepted", async () => {
  const { config } = await loadFiles({ yaml: "- gpu_id: 0\n  port: 11434\n- gpu_id: 1\n  port: 11435\n" });
  assert.deepEqual(
    config.instances.map((i) => i.id),
    ["gpu0-11434", "gpu1-11435"],
  );
});

test("an empty gpu_instances list loads with a warning", async () => {
  const { config, warnings } = await loadFiles({ yaml: "gpu_instances:\n" });
  assert.deepEqual(config.instances, []);
  assert.equal(warnings[0]?.message, "the list is empty");
});

test("an empty file, a file without gpu_instances, or a gpu_instances that is not a list is a problem", async () => {
  for (const [yaml, message] of [
    ["", "the file is empty; expected a gpu_instances: list"],
    ["instances: []\n", "no gpu_instances: list in this file"],
    ["gpu_instances: 3\n", "expected a list of instances, each starting with -"],
    ["- 11434\n", 'expected a mapping such as {gpu_id: 0, name: "RTX 3060 Ti", port: 11434}'],
  ] as const) {
    const error = await loadError(loadFiles({ yaml }));
    assert.equal(error.problems[0]?.message, message, JSON.stringify(yaml));
  }
});
