/** Waits for a child process to announce something as one JSON line on its stdout (e.g. "listening"). */
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/**
 * Resolves with what `match` returns for the first stdout JSON line it accepts; rejects when the child
 * exits first or the timeout passes (`context()` adds e.g. the child's stderr to the message).
 */
export function waitForJsonLine(
  child: ChildProcess,
  match: (msg: Record<string, unknown>) => string | undefined,
  timeoutMs: number,
  context: () => string = () => "",
): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!child.stdout) return reject(new Error("child process has no stdout pipe"));
    const lines = createInterface({ input: child.stdout });
    const done = (): void => {
      clearTimeout(timer);
      child.off("exit", onExit);
    };
    const onExit = (code: number | null): void => {
      done();
      reject(new Error(`process exited with code ${code} before it was ready${context()}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`process was not ready within ${timeoutMs} ms${context()}`));
    }, timeoutMs);
    child.once("exit", onExit);
    lines.on("line", (line) => {
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        return; // not a JSON line
      }
      if (msg === null || typeof msg !== "object") return;
      const value = match(msg as Record<string, unknown>);
      if (value !== undefined) {
        done();
        resolve(value);
      }
    });
  });
}

/** Matcher for the emulator's `{"msg":"listening","url":...}` line. */
export function listeningUrl(msg: Record<string, unknown>): string | undefined {
  return msg.msg === "listening" && typeof msg.url === "string" ? msg.url : undefined;
}
