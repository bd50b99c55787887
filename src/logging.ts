/** The gateway's structured logger (pino): JSON by default, `pretty` for humans. */
import { pino, type Logger } from "pino";

/** Log formats the CLI accepts. */
export type LogFormat = "json" | "pretty";

/** Creates the root logger; pretty output goes through pino-pretty on a worker thread. */
export function createLogger(level: string, format: LogFormat, destinationFd = 1): Logger {
  if (format === "pretty") {
    return pino({
      level,
      transport: {
        target: "pino-pretty",
        options: { destination: destinationFd, translateTime: "SYS:HH:MM:ss.l" },
      },
    });
  }
  return pino(
    { level, base: { service: "ollama-fleet" } },
    pino.destination({ fd: destinationFd, sync: false }),
  );
}
