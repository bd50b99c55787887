/** Runs an external tool (nvidia-smi, amd-smi, rocm-smi) and always answers, never throws. */
import { execFile } from "node:child_process";

/** What a finished (or failed-to-start) command left behind. */
export interface CommandResult {
  /** Exit status; null when the process did not exit normally (not started, killed, timed out). */
  exitCode: number | null;
  /** Standard output as text. */
  stdout: string;
  /** Standard error as text. */
  stderr: string;
  /** Why it did not run to completion: "not-found", "timeout", or the spawn error's message. */
  failure?: string;
}

/** Injected command runner: the detection code never spawns processes itself. */
export type RunCommand = (
  file: string,
  args: readonly string[],
  options: { timeoutMs: number; env?: NodeJS.ProcessEnv },
) => Promise<CommandResult>;

/** The real runner: execFile with a timeout, because nvidia-smi can hang on a wedged driver. */
export const runCommand: RunCommand = (file, args, options) =>
  new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { timeout: options.timeoutMs, killSignal: "SIGKILL", maxBuffer: 8 * 1024 * 1024, env: options.env },
      (error, stdout, stderr) => {
        const out = String(stdout);
        const err = String(stderr);
        if (error === null) {
          resolve({ exitCode: 0, stdout: out, stderr: err });
          return;
        }
        const e = error as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
        if (e.code === "ENOENT") resolve({ exitCode: null, stdout: out, stderr: err, failure: "not-found" });
        else if (e.killed === true) resolve({ exitCode: null, stdout: out, stderr: err, failure: "timeout" });
        else if (typeof e.code === "number") resolve({ exitCode: e.code, stdout: out, stderr: err });
        else resolve({ exitCode: null, stdout: out, stderr: err, failure: e.message });
      },
    );
  });

/** One line describing why a command gave no usable output, for DetectionAttempt.detail. */
export function describeCommandFailure(file: string, result: CommandResult): string {
  if (result.failure === "not-found") return `${file} not found on PATH`;
  if (result.failure === "timeout") return `${file} did not answer in time (driver hung?)`;
  if (result.failure !== undefined) return `${file} could not run: ${result.failure}`;
  const text = firstMeaningfulLine(`${result.stdout}\n${result.stderr}`);
  return `${file} exited with status ${String(result.exitCode)}${text === "" ? "" : `: ${text}`}`;
}

/** The first non-blank line of a tool's output, trimmed. */
export function firstMeaningfulLine(text: string): string {
  return (
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l !== "") ?? ""
  );
}
