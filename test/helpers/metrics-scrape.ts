/** Test helpers for metrics: a fake-NVML GPU poller, mixed real traffic, and Prometheus's own tools. */
import { spawnSync } from "node:child_process";
import { freePort } from "../../src/util/free-port.js";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestContext } from "node:test";
import { openGpuPoller, type GpuPoller } from "../../src/gpu/gpu-poller.js";
import { buildFakeNvml } from "../fixtures/gpu/gpu-fixtures.js";
import type { FleetFixture } from "./gateway-fixture.js";
import { chatBody, generateBody, MODEL, openAiChatBody, post } from "./resilience.js";

/** Two fake GPUs: a warm RTX 4090 and a Tesla T4 (see fake-nvml.c for the fields). */
export const FAKE_GPUS =
  "NVIDIA GeForce RTX 4090:24564:8.9:1200:51:87.5:23;Tesla T4:15360:7.5:1024:48:27.5:12";

/** A GPU poller over a freshly built fake libnvidia-ml.so.1 serving FAKE_GPUS, or why there is none. */
export async function fakeGpuPoller(): Promise<GpuPoller | { skip: string }> {
  const built = await buildFakeNvml(mkdtempSync(path.join(tmpdir(), "metrics-nvml-")));
  if ("skip" in built) return built;
  process.env.FAKE_NVML_GPUS = FAKE_GPUS;
  const poller = await openGpuPoller({ nvmlLibraryPath: built.path, runCommand: async () => NOT_INSTALLED });
  if (!poller) throw new Error("the fake NVML's GPUs were not found");
  return poller;
}

const NOT_INSTALLED = { exitCode: null, stdout: "", stderr: "", failure: "not-found" as const };

/**
 * Sends one of each kind of request (streamed and whole generate/chat, OpenAI chat, embed, a missing model)
 * and one that meets a 500 on the first emulator and is retried on the other.
 */
export async function mixedTraffic(fleet: FleetFixture): Promise<void> {
  const ok = async (res: Promise<Response>): Promise<void> => {
    const r = await res;
    await r.text();
    if (r.status >= 500) throw new Error(`unexpected ${r.status}`);
  };
  // Prompts longer than one affinity chunk (128 characters), so KV-affinity routing looks them up.
  const long = "You are a careful assistant that answers in one short paragraph. ".repeat(3);
  await ok(post(fleet.url, "/api/generate", generateBody(`${long} hello there`, 8)));
  await ok(post(fleet.url, "/api/chat", chatBody(`${long} tell me more`, 8, { stream: false })));
  await ok(post(fleet.url, "/v1/chat/completions", openAiChatBody(`${long} and in OpenAI`, 6)));
  await ok(post(fleet.url, "/api/embed", { model: MODEL, input: ["a", "b"] }));
  await ok(post(fleet.url, "/api/chat", { model: "no-such-model", messages: [] }));
  const faulty = fleet.emulators[0]!;
  await faulty.fault({ kind: "error500", count: 1 });
  for (let n = 0; n < 20 && (await faulty.stats()).faults.length > 0; n++) {
    await ok(post(fleet.url, "/api/generate", generateBody(`retry me ${n}`, 4, { stream: false })));
  }
}

/** Path of a Prometheus tool, or skips the test (fails it under CI, which installs them). */
export function prometheusTool(t: TestContext, name: "promtool" | "prometheus"): string | undefined {
  for (const dir of ["/usr/bin", "/usr/local/bin"]) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  const why = `${name} is not installed (Debian package "prometheus"; .ci/run installs it)`;
  if (process.env.CI) throw new Error(why);
  t.skip(why);
  return undefined;
}

/** `promtool check metrics` on a scrape: its exit status and what it printed. */
export function promtoolCheckMetrics(
  promtool: string,
  scrape: string,
): { status: number | null; output: string } {
  const r = spawnSync(promtool, ["check", "metrics"], { input: scrape, encoding: "utf8", timeout: 30_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** Every metric family name a scrape declares (`# TYPE` lines). */
export function declaredMetrics(scrape: string): Set<string> {
  return new Set([...scrape.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1] ?? ""));
}

/** The sum of a metric's samples whose labels include `labels` (0 when none), from a scrape's text. */
export function metricSum(scrape: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of scrape.split("\n")) {
    if (!line.startsWith(name) || (line[name.length] !== "{" && line[name.length] !== " ")) continue;
    const close = line.lastIndexOf(" ");
    const labelText = line[name.length] === "{" ? line.slice(name.length + 1, line.lastIndexOf("}")) : "";
    const got = Object.fromEntries(
      [...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1] ?? "", m[2] ?? ""]),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum += Number(line.slice(close + 1));
  }
  return sum;
}

/** Re-exported so callers keep one import. */
export { freePort };
