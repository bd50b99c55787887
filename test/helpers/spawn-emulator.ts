/** Test helper: runs the Ollama emulator as a child process on a free port, and drives its control API. */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { FaultSpec, SimStats } from "../../src/sim/types.js";
import { listeningUrl, waitForJsonLine } from "../../src/util/json-line.js";

/** A running emulator process. */
export interface SpawnedEmulator {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Its stderr so far (for failure messages). */
  logs(): string;
  stats(): Promise<SimStats>;
  fault(f: FaultSpec): Promise<void>;
  clearFaults(): Promise<void>;
  resetStats(): Promise<void>;
  /** Ends the process (SIGTERM, then SIGKILL) and waits for it. */
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL("../../src/sim/emulate-main.js", import.meta.url));

async function control(url: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/**
 * Starts `node dist/src/sim/emulate-main.js --port 0 ...args` and waits for its listening line. The
 * child also exits when this process does (its stdin closes), so a crashed test leaves no orphan.
 */
export async function spawnEmulator(args: string[], env: NodeJS.ProcessEnv = {}): Promise<SpawnedEmulator> {
  const proc = spawn(process.execPath, [ENTRY, "--port", "0", ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, OLLAMA_FLEET_EXIT_ON_STDIN_CLOSE: "1", ...env },
  });
  let stderr = "";
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => {
    stderr = (stderr + d).slice(-20_000);
  });
  const killOnExit = (): void => void proc.kill("SIGKILL");
  process.once("exit", killOnExit);
  const exited = new Promise<void>((done) => proc.once("exit", () => done()));
  void exited.then(() => process.off("exit", killOnExit));

  const url = await waitForJsonLine(proc, listeningUrl, 10_000, () => `:\n${stderr}`);

  return {
    url,
    port: Number(new URL(url).port),
    proc,
    logs: () => stderr,
    stats: async () => (await control(url, "GET", "/__sim/stats")) as SimStats,
    fault: async (f) => void (await control(url, "POST", "/__sim/fault", f)),
    clearFaults: async () => void (await control(url, "DELETE", "/__sim/fault")),
    resetStats: async () => void (await control(url, "POST", "/__sim/reset-stats")),
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const force = setTimeout(() => proc.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(force);
      }
    },
  };
}
