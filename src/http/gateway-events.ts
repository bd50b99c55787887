/** Typed events the HTTP layer emits; metrics and logs subscribe to them. */
import type { TransportFailureKind } from "../backend/backend-client.js";
import type { Dialect } from "./dialect.js";

/** How a proxied request ended. */
export type RequestOutcome =
  "ok" | "client_error" | "upstream_error" | "no_instance" | "aborted" | "stream_error";

/** Why one upstream attempt failed. */
export type UpstreamFailureKind =
  TransportFailureKind | "http_5xx" | "busy" | "model_missing" | "stream_reset" | "malformed";

/** Payloads of the gateway's events. */
export interface GatewayEvents {
  "request-completed": {
    requestId: string;
    endpoint: string;
    dialect: Dialect;
    model: string;
    instanceId: string | undefined;
    status: number;
    outcome: RequestOutcome;
    attempts: number;
    stream: boolean;
    ttftMs: number | undefined;
    totalMs: number;
    promptTokens: number | undefined;
    outputTokens: number | undefined;
  };
  "upstream-failure": {
    requestId: string;
    instanceId: string;
    model: string;
    kind: UpstreamFailureKind;
    status: number | undefined;
    message: string;
    willRetry: boolean;
  };
}
