// How the INI file is read: comments, quotes, sections, case, booleans, and malformed lines.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseIni } from "../src/config/ini-parser.js";
import { loadError, loadFiles } from "./fixtures/config/temp-files.js";

test("comments with # and ;, and blank lines, are skipped", () => {
  const parsed = parseIni("# one\n; two\n\n   # indented\n[Gateway]\nListenPort = 1\n");
  assert.deepEqual(parsed.errors, []);
  assert.deepEqual(parsed.entries, [{ section: "Gateway", key: "ListenPort", value: "1", line: 6 }]);
});

test("quotes are removed and a comment after whitespace is dropped, but # inside a value stays", () => {
  const parsed = parseIni(
    "A = \"quoted # not a comment\"  ; note\nB = plain value # note\nC = abc#1\nD = 'single'\n",
  );
  assert.deepEqual(
    parsed.entries.map((e) => [e.key, e.value]),
    [
      ["A", "quoted # not a comment"],
      ["B", "plain value"],
      ["C", "abc#1"],
      ["D", "single"],
    ],
  );
});

test("Windows line endings and a byte order mark are read like plain text", () => {
  const parsed = parseIni("\uFEFF[Gateway]\r\nListenPort = 1\r\n");
  assert.deepEqual(parsed.entries, [{ section: "Gateway", key: "ListenPort", value: "1", line: 2 }]);
});

test("a section-free file sets keys of either section by name", async () => {
  const { config, warnings } = await loadFiles({ ini: "MaxBatchSize = 6\nListenPort = 12001\n" });
  assert.equal(config.loadBalancing.maxBatchSize, 6);
  assert.equal(config.gateway.listenPort, 12001);
  assert.deepEqual(warnings, []);
});

test("section and key names match ignoring case, as .NET's INI reader does", async () => {
  const { config, warnings } = await loadFiles({
    ini: "[gpu_loadbalancing]\nmaxbatchsize = 7\n[GATEWAY]\nlistenport = 12002\n",
  });
  assert.equal(config.loadBalancing.maxBatchSize, 7);
  assert.equal(config.gateway.listenPort, 12002);
  assert.deepEqual(warnings, []);
});

test("booleans accept true/false, yes/no and 1/0 in any case", async () => {
  const ini = [
    "[GPU_LoadBalancing]",
    "EnableGpuLoadBalancing = FALSE",
    "EnableBatchProcessing = no",
    "EnableKvCacheSharing = 0",
    "EnableCircuitBreaker = Yes",
  ].join("\n");
  const { config } = await loadFiles({ ini });
  assert.equal(config.loadBalancing.enableGpuLoadBalancing, false);
  assert.equal(config.loadBalancing.enableBatchProcessing, false);
  assert.equal(config.loadBalancing.enableKvCacheSharing, false);
  assert.equal(config.loadBalancing.enableCircuitBreaker, true);
  const { config: ones } = await loadFiles({ ini: "[GPU_LoadBalancing]\nEnableCircuitBreaker = 1\n" });
  assert.equal(ones.loadBalancing.enableCircuitBreaker, true);
});

test("a line that is not a key, a section or a comment is a problem with its line number", async () => {
  const error = await loadError(loadFiles({ ini: "[Gateway]\nListenPort = 1\nthis is not ini\n" }));
  assert.equal(error.problems.length, 1);
  assert.equal(error.problems[0]?.line, 3);
  assert.match(error.problems[0]?.message ?? "", /expected "Key = value".*"this is not ini"/);
});

test('"Key: value" is a problem that suggests "="', async () => {
  const error = await loadError(loadFiles({ ini: "[Gateway]\nListenPort: 1\n" }));
  assert.match(error.problems[0]?.message ?? "", /use "=" rather than ":"/);
});

test("a broken section header or an unclosed quote is a problem with its line number", async () => {
  const error = await loadError(loadFiles({ ini: '[Gateway\nAdminKey = "abc\n' }));
  assert.deepEqual(
    error.problems.map((p) => [p.line, p.message]),
    [
      [1, 'a section header must look like [Gateway]; got "[Gateway"'],
      [2, 'the value opens a " quote that is never closed'],
    ],
  );
});

test("a key set twice warns and the later value wins", async () => {
  const { config, warnings } = await loadFiles({ ini: "[Gateway]\nListenPort = 1\nListenPort = 2\n" });
  assert.equal(config.gateway.listenPort, 2);
  assert.deepEqual(warnings, [
    {
      file: "config.ini",
      key: "[Gateway] ListenPort",
      message: "also set on line 2; this later value wins",
      line: 3,
    },
  ]);
});
