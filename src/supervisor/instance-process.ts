/**
 * One run of `ollama serve`: spawned in a process group of its own (so its model runners can be killed
 * with it), watched by the orphan guard, its stdout/stderr split into lines for the caller, and stopped
 * with SIGTERM then SIGKILL after a grace period.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { LineSplitter } from "./instance-log.js";
import type { OrphanGuard } from "./orphan-guard.js";

/** How a run ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  uptimeMs: number;
  /** Set when the process could not be started at all (e.g. the binary does not exist). */
  spawnError: string | undefined;
}

/** What starting a run needs. */
export interface InstanceProcessOptions {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  guard: OrphanGuard | undefined;
  /** Called for every complete output line. */
  onLine: (stream: "stdout" | "stderr", line: string) => void;
  now: () => number;
}

/** Words for an exit: "exited with code 1", "killed by SIGKILL", "could not start: …". */
export function describeExit(exit: ProcessExit): string {
  if (exit.spawnError !== undefined) return `could not start: ${exit.spawnError}`;
  if (exit.signal !== null) return `killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

/** A running (or ended) child process. */
export class InstanceProcess {
  /** Resolves once, when the process has exited (or failed to start). */
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private readonly startedMs: number;
  private exitInfo: ProcessExit | undefined;

  constructor(private readonly options: InstanceProcessOptions) {
    this.startedMs = options.now();
    this.child = spawn(options.command, options.args, {
      env: options.env,
      detached: true, // own process group: its runners die with it, and a terminal's Ctrl-C is ours to relay
      stdio: ["ignore", "pipe", "pipe"],
    });
    const pid = this.child.pid;
    if (pid !== undefined) options.guard?.watch(pid);
    for (const stream of ["stdout", "stderr"] as const) {
      const splitter = new LineSplitter();
      const readable = this.child[stream]!;
      readable.setEncoding("utf8");
      readable.on("data", (chunk: string) => {
        for (const line of splitter.push(chunk)) options.onLine(stream, line);
      });
      readable.on("end", () => {
        for (const line of splitter.flush()) options.onLine(stream, line);
      });
    }
    this.exited = new Promise<ProcessExit>((resolve) => {
      const finish = (exit: ProcessExit): void => {
        if (this.exitInfo) return;
        this.exitInfo = exit;
        if (pid !== undefined) {
          // Runners it left behind in its group go with it.
          this.signalGroup("SIGKILL");
          options.guard?.unwatch(pid);
        }
        resolve(exit);
      };
      this.child.once("error", (err) => {
        if (this.child.pid === undefined || this.child.exitCode === null) {
          finish({ code: null, signal: null, uptimeMs: this.uptime(), spawnError: err.message });
        }
      });
      this.child.once("exit", (code, signal) =>
        finish({ code, signal, uptimeMs: this.uptime(), spawnError: undefined }),
      );
    });
  }

  /** The process id (also its process group id); undefined when it could not be started. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether it is still running. */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  private uptime(): number {
    return this.options.now() - this.startedMs;
  }

  /** Sends a signal to the whole process group (the server and its runners). */
  signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit. */
  async stop(graceMs: number): Promise<ProcessExit> {
    if (!this.running) return this.exited;
    this.signalGroup("SIGTERM");
    const force = setTimeout(() => this.signalGroup("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(force);
    }
  }
}
