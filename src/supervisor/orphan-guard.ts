/**
 * Gateway side of the orphan guard: starts the warden (orphan-guard-main.ts) in its own session, tells it
 * which process groups to kill should the gateway die without stopping them, and restarts it if it dies.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";

/** Path of the warden script in the build output. */
export function orphanGuardEntryPath(): string {
  return fileURLToPath(new URL("./orphan-guard-main.js", import.meta.url));
}

/** Options of the orphan guard. */
export interface OrphanGuardOptions {
  /** Time between SIGTERM and SIGKILL when the warden reaps, ms. */
  graceMs: number;
  logger?: Logger;
}

/** Keeps a warden process that kills the watched process groups when this process dies. */
export class OrphanGuard {
  private warden: ChildProcess | undefined;
  private readonly groups = new Set<number>();
  private closed = false;

  constructor(private readonly options: OrphanGuardOptions) {}

  /** The warden's pid (for tests that prove it leaves no process behind), if running. */
  get wardenPid(): number | undefined {
    return this.warden?.pid;
  }

  /** Starts the warden; later watch() calls reach it. Idempotent. */
  start(): void {
    if (this.warden || this.closed) return;
    const warden = spawn(process.execPath, [orphanGuardEntryPath(), String(this.options.graceMs)], {
      detached: true, // its own session: killing the gateway's process group must not kill the warden
      stdio: ["pipe", "ignore", "ignore"],
    });
    this.warden = warden;
    // The warden must never keep the gateway alive; it exits by itself when the pipe closes.
    warden.unref();
    (warden.stdin as unknown as Socket).unref();
    warden.stdin!.on("error", () => {}); // EPIPE after the warden died: handled by "exit"
    warden.once("error", (err) => this.options.logger?.error({ err }, "orphan guard failed to start"));
    warden.once("exit", (code, signal) => {
      if (this.warden === warden) this.warden = undefined;
      if (this.closed) return;
      this.options.logger?.warn({ code, signal }, "orphan guard exited; starting it again");
      this.start();
    });
    for (const pgid of this.groups) this.send(`watch ${pgid}`);
    this.options.logger?.info({ pid: warden.pid, watching: this.groups.size }, "orphan guard started");
  }

  /** From now on, the group `pgid` is killed if this process dies. */
  watch(pgid: number): void {
    this.groups.add(pgid);
    this.send(`watch ${pgid}`);
  }

  /** The group ended normally: forget it (so a reused pid is never killed). */
  unwatch(pgid: number): void {
    if (!this.groups.delete(pgid)) return;
    this.send(`unwatch ${pgid}`);
  }

  private send(line: string): void {
    const stdin = this.warden?.stdin;
    if (stdin && !stdin.destroyed) stdin.write(`${line}\n`);
  }

  /** Stops the warden (it reaps whatever is still watched, normally nothing) and waits for it. */
  async close(): Promise<void> {
    this.closed = true;
    const warden = this.warden;
    if (!warden) return;
    if (warden.exitCode !== null || warden.signalCode !== null) return;
    const exited = new Promise<void>((done) => warden.once("exit", () => done()));
    warden.ref(); // unref'd while it only watches; now its exit is awaited
    warden.stdin?.end();
    await exited;
  }
}
