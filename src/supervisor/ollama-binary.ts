/**
 * Which program plays `ollama serve`: the configured binary when it exists, else (GPUs detected but no
 * Ollama installed: the demo and the tests) the project's emulator, told the planned GPU through
 * OLLAMA_FLEET_EMULATE_GPU.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { PlannedDevice } from "./plan-types.js";
import type { OllamaCommand } from "./supervisor-types.js";

/** Whether `path` is an executable regular file. */
function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Resolves a program name on PATH (or checks a path with a slash); undefined when not found. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv): string | undefined {
  if (name.includes("/")) return isExecutable(name) ? resolve(name) : undefined;
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The real Ollama: `<path> serve`. */
export function ollamaServe(path: string): OllamaCommand {
  return { command: path, args: ["serve"], emulated: false };
}

/**
 * The emulator as the stand-in: `node dist/src/sim/emulate-main.js serve`, the entry `ollama-fleet emulate`
 * runs, without loading the gateway's modules (twice as fast to start). It reads Ollama's variables.
 */
export function emulatedOllamaServe(): OllamaCommand {
  const entry = fileURLToPath(new URL("../sim/emulate-main.js", import.meta.url));
  return { command: process.execPath, args: [entry, "serve"], emulated: true };
}

/**
 * What the emulator needs to play an instance's GPU: its name, and as memory the instance's share (the
 * emulators on one GPU cannot see each other's allocations, so each gets its limit as its whole card).
 */
export function emulatedGpuEnv(instance: {
  device: PlannedDevice;
  memoryLimitBytes: number;
}): Record<string, string> {
  if (instance.device.kind === "cpu") return {};
  const gib = Math.max(0.01, instance.memoryLimitBytes / 1024 ** 3);
  return { OLLAMA_FLEET_EMULATE_GPU: `${instance.device.name}:${gib.toFixed(2)}` };
}
