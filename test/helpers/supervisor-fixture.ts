/**
 * Test fixture for the supervisor: fake `ollama` binaries (shell scripts that exec the emulator, since the
 * supervisor runs `<bin> serve`, or that fail at once), plans on free ports, fast settings, and process
 * liveness checks.
 */
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { freePort } from "../../src/util/free-port.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PlannedInstance, PlannedModel, ProvisionPlan } from "../../src/supervisor/plan-types.js";
import type { SupervisorSettingsInput } from "../../src/supervisor/supervisor-settings.js";
import type { SupervisorEvents } from "../../src/supervisor/supervisor-types.js";
import type { TypedEmitter } from "../../src/util/typed-emitter.js";

/** The built CLI. */
export const CLI = join(process.cwd(), "dist/src/cli/main.js");

/** The emulator's own entry (what `ollama-fleet emulate` runs, without loading the gateway). */
export const EMULATOR = join(process.cwd(), "dist/src/sim/emulate-main.js");

/** A fresh temporary directory. */
export function tempDir(prefix = "fleet-sup-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Writes an executable shell script. */
export async function script(dir: string, name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

/**
 * An `ollama` stand-in: `exec node emulate-main.js serve --time-scale N`. With `envDump`, it first writes
 * its environment to `<envDump>/<port>.env`, so a test can see exactly what the supervisor gave it.
 */
export async function emulatorOllama(
  dir: string,
  opts: { timeScale?: number; envDump?: string; args?: string[] } = {},
): Promise<string> {
  const dump = opts.envDump ? `env > "${opts.envDump}/$(echo "$OLLAMA_HOST" | sed 's/.*://').env"\n` : "";
  return script(
    dir,
    "ollama",
    `${dump}exec "${process.execPath}" "${EMULATOR}" "$@" --time-scale ${opts.timeScale ?? 50} ${(opts.args ?? []).join(" ")}`,
  );
}

/** An `ollama` that fails at once, as one whose port is taken does. */
export function failingOllama(dir: string): Promise<string> {
  return script(
    dir,
    "ollama-broken",
    'echo "Error: listen tcp 127.0.0.1:11434: bind: address already in use" >&2\nexit 1',
  );
}

/** A planned model to preload. */
export function preload(name: string, step?: number): PlannedModel {
  return {
    name,
    sizeBytes: undefined,
    preload: true,
    reason: "test",
    ...(step ? { preloadStep: step } : {}),
  };
}

/** A plan of GPU instances on free ports; each entry overrides the defaults of one instance. */
export async function gpuPlan(entries: Partial<PlannedInstance>[]): Promise<ProvisionPlan> {
  const instances: PlannedInstance[] = [];
  for (const [i, e] of entries.entries()) {
    const port = e.port ?? (await freePort());
    instances.push({
      id: e.id ?? `gpu${i}-${port}`,
      device: e.device ?? {
        kind: "gpu",
        vendor: "nvidia",
        index: i,
        uuid: `GPU-00000000-0000-4000-8000-0000000000${String(i + 1).padStart(2, "0")}`,
        name: "NVIDIA GeForce RTX 4090",
        memoryTotalBytes: 24 * 1024 ** 3,
      },
      port,
      memoryLimitBytes: e.memoryLimitBytes ?? 20 * 1024 ** 3,
      numParallel: e.numParallel ?? 1,
      maxConcurrentRequests: e.maxConcurrentRequests ?? e.numParallel ?? 1,
      maxLoadedModels: e.maxLoadedModels ?? 3,
      models: e.models ?? [],
      reasons: ["test"],
    });
  }
  return { instances, systemMemoryReserveBytes: 0, unplaced: [], warnings: [] };
}

/** Short timers so restarts, wedges and crash loops happen within a second or two. */
export function fastSettings(ollama: string, over: SupervisorSettingsInput = {}): SupervisorSettingsInput {
  return {
    ollama: { command: ollama, args: ["serve"], emulated: true },
    startTimeoutMs: 15_000,
    readinessPollMs: 50,
    healthIntervalMs: 150,
    healthTimeoutMs: 300,
    wedgeThreshold: 2,
    stopGraceMs: 1_500,
    preloadTimeoutMs: 10_000,
    pullTimeoutMs: 10_000,
    ...over,
    restart: {
      initialBackoffMs: 200,
      maxBackoffMs: 800,
      jitterRatio: 0,
      crashLoopExits: 3,
      crashLoopWindowMs: 30_000,
      stableAfterMs: 30_000,
      ...over.restart,
    },
    oom: { windowMs: 60_000, cooldownMs: 100, ...over.oom },
  };
}

/** Whether a process exists (signal 0 checks without signalling). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Waits until none of the pids exists, or fails with the survivors. */
export async function allGone(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pids.every((p) => !alive(p))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  const left = pids.filter(alive);
  if (left.length > 0) throw new Error(`processes still alive after ${timeoutMs} ms: ${left.join(", ")}`);
}

/** Resolves with the first event of a kind that matches. */
export function nextEvent<K extends keyof SupervisorEvents & string>(
  events: TypedEmitter<SupervisorEvents>,
  kind: K,
  match: (e: SupervisorEvents[K]) => boolean,
  timeoutMs = 15_000,
): Promise<SupervisorEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching ${kind} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = events.on(kind, (e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

/** Re-exported so callers keep one import. */
export { freePort };
