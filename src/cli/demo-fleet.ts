/**
 * The fleet `npm start` runs on when nothing is configured: a local Ollama if one answers on
 * 127.0.0.1:11434, else the seed's two GPUs emulated by child processes (said loudly).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { InstanceSpec } from "../backend/instance.js";
import { listeningUrl, waitForJsonLine } from "../util/json-line.js";

/** The seed document's two example GPUs, with its four models (sizes as Ollama's library lists them). */
export const SEED_DEMO_GPUS = [
  {
    gpuId: 0,
    name: "RTX 3060 Ti",
    vramGb: 8,
    parallel: 2,
    models: ["mistral:7b-instruct-q4_K_M:4.4:7.2", "deepseek-coder:6.7b:3.8:6.7"],
  },
  {
    gpuId: 1,
    name: "RTX 4070 Ti",
    vramGb: 12,
    parallel: 3,
    models: ["codegemma:7b:5.0:8.5", "gemma2:9b:5.4:9.2"],
  },
] as const;

/** A started demo fleet: the instances to front and a way to stop the processes. */
export interface DemoFleet {
  specs: InstanceSpec[];
  close(): Promise<void>;
}

/** Whether an Ollama answers at the URL within the timeout. */
export async function ollamaAnswers(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(`${url}/api/version`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Path of the emulator's standalone entry point in the build output. */
export function emulatorEntryPath(): string {
  return fileURLToPath(new URL("../sim/emulate-main.js", import.meta.url));
}

/** Starts one emulator process per seed GPU on free ports and waits until each listens. */
export async function startEmulatedSeedFleet(timeScale = 1): Promise<DemoFleet> {
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.kill("SIGTERM");
            setTimeout(() => c.kill("SIGKILL"), 2000).unref();
          }),
      ),
    );
  };
  try {
    const specs = await Promise.all(
      SEED_DEMO_GPUS.map(async (gpu) => {
        const child = spawn(
          process.execPath,
          [
            emulatorEntryPath(),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--gpu",
            `${gpu.name}:${gpu.vramGb}`,
            "--models",
            gpu.models.join(","),
            "--parallel",
            String(gpu.parallel),
            "--time-scale",
            String(timeScale),
          ],
          // stdin stays a pipe: the emulator exits when it closes, so a killed gateway leaves no orphans.
          {
            stdio: ["pipe", "pipe", "inherit"],
            env: { ...process.env, OLLAMA_FLEET_EXIT_ON_STDIN_CLOSE: "1" },
          },
        );
        children.push(child);
        const url = await waitForJsonLine(child, listeningUrl, 15_000);
        const port = Number(new URL(url).port);
        const spec: InstanceSpec = {
          id: `gpu${gpu.gpuId}-${port}`,
          name: `${gpu.name} (emulated)`,
          url,
          gpuId: gpu.gpuId,
          memoryLimitBytes: gpu.vramGb * 1e9,
          models: gpu.models.map((m) => m.split(":").slice(0, 2).join(":")),
          maxConcurrentRequests: gpu.parallel,
        };
        return spec;
      }),
    );
    return { specs, close: stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
