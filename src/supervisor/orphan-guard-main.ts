#!/usr/bin/env node
/**
 * The orphan guard's warden, a tiny process of its own session. The gateway writes `watch <pgid>` and
 * `unwatch <pgid>` lines to its stdin. When stdin closes — the gateway exited, crashed or was SIGKILLed,
 * which no signal handler can catch — it sends SIGTERM to every watched process group, then SIGKILL to
 * those still alive after the grace period (argv[2], ms), and exits. Node has no PR_SET_PDEATHSIG; a pipe
 * that the kernel closes when its writer dies is the portable substitute.
 */
import { createInterface } from "node:readline";

const graceMs = Number(process.argv[2] ?? "5000");
const groups = new Set<number>();

// Only the closing pipe ends the warden: a stray Ctrl-C or hang-up is the gateway's business.
process.on("SIGINT", () => {});
process.on("SIGHUP", () => {});

function alive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    // EPERM: something is there that we may not signal; count it as alive.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signalAll(signal: NodeJS.Signals): void {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, signal);
    } catch {
      groups.delete(pgid);
    }
  }
}

function reap(): void {
  signalAll("SIGTERM");
  if (groups.size === 0) process.exit(0);
  const started = Date.now();
  const poll = setInterval(() => {
    for (const pgid of groups) if (!alive(pgid)) groups.delete(pgid);
    if (groups.size === 0) {
      clearInterval(poll);
      process.exit(0);
    }
    if (Date.now() - started >= graceMs) {
      signalAll("SIGKILL");
      clearInterval(poll);
      process.exit(0);
    }
  }, 50);
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const [command, arg] = line.trim().split(/\s+/);
  const pgid = Number(arg);
  // Never 0 or 1: kill(-0) is our own group, kill(-1) is every process we may signal.
  if (!Number.isInteger(pgid) || pgid <= 1) return;
  if (command === "watch") groups.add(pgid);
  else if (command === "unwatch") groups.delete(pgid);
});
lines.on("close", reap);
