/** Structured log lines of requests, failed attempts and GPU conditions, from the gateway's typed events. */
import type { Logger } from "pino";
import type { GpuMonitor } from "./gpu/gpu-monitor.js";
import type { GatewayEvents } from "./http/gateway-events.js";
import type { TypedEmitter } from "./util/typed-emitter.js";

/** What the log lines may add: the trace id of a request that is being traced. */
export interface RequestLogOptions {
  traceIdOf?: ((seq: number) => string | undefined) | undefined;
}

/**
 * One `request completed` line per proxied request (request id, model, instance, attempts, queue wait,
 * TTFT, tokens, outcome) and one `upstream attempt failed` line per failed attempt. Subscribe before the
 * tracer, so a request's trace id is still known when its line is written. Returns the unsubscribe function.
 */
export function subscribeRequestLogs(
  events: TypedEmitter<GatewayEvents>,
  logger: Logger,
  options: RequestLogOptions = {},
): () => void {
  const offs = [
    events.on("request-completed", (e) => {
      const traceId = options.traceIdOf?.(e.seq);
      logger.info(
        {
          reqId: e.requestId,
          endpoint: e.endpoint,
          model: e.model,
          instance: e.instanceId,
          attempts: e.attempts,
          stream: e.stream,
          status: e.status,
          outcome: e.outcome,
          queueWaitMs: e.queueWaitMs,
          ttftMs: e.ttftMs,
          totalMs: e.totalMs,
          promptTokens: e.promptTokens,
          outputTokens: e.outputTokens,
          ...(traceId ? { traceId } : {}),
        },
        "request completed",
      );
    }),
    events.on("upstream-failure", (e) =>
      logger.warn(
        {
          reqId: e.requestId,
          model: e.model,
          instance: e.instanceId,
          kind: e.kind,
          status: e.status,
          retry: e.willRetry,
          err: e.message,
        },
        "upstream attempt failed",
      ),
    ),
  ];
  return () => offs.forEach((off) => off());
}

/** Logs each change of a GPU's condition (hot, memory-starved, lost, back to healthy). */
export function subscribeGpuLogs(monitor: GpuMonitor, logger: Logger): () => void {
  const offs = [
    monitor.events.on("gpu-condition", (e) => {
      const fields = {
        gpu: e.gpuId,
        uuid: e.uuid,
        name: e.name,
        from: e.from,
        to: e.to,
        reasons: e.reasons,
        instances: e.instanceIds,
      };
      if (e.to === "lost") logger.error(fields, "GPU lost");
      else if (e.to === "degraded") logger.warn(fields, "GPU degraded");
      else logger.info(fields, "GPU condition changed");
    }),
    monitor.events.on("poll-failed", (e) =>
      logger.warn({ err: e.message, consecutive: e.consecutive }, "GPU poll failed"),
    ),
  ];
  return () => offs.forEach((off) => off());
}
