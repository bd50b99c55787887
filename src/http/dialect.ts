/** The two API dialects the gateway speaks, and how errors look in each. */
import type { FastifyReply } from "fastify";
import { GatewayError } from "../errors/catalog.js";

/** Ollama's native API (`/api/*`, `/`) or the OpenAI-compatible one (`/v1/*`). */
export type Dialect = "ollama" | "openai";

/** Which dialect a request path belongs to. */
export function dialectOf(url: string): Dialect {
  return url.startsWith("/v1/") || url === "/v1" ? "openai" : "ollama";
}

/** The JSON body of an error in the given dialect. */
export function errorBody(dialect: Dialect, err: GatewayError): unknown {
  if (dialect === "openai") {
    return { error: { message: err.message, type: err.openaiType, param: null, code: err.code } };
  }
  return { error: err.message };
}

/** Sends an error as a complete response in the caller's dialect (used before any byte was sent). */
export function sendError(reply: FastifyReply, dialect: Dialect, err: GatewayError): FastifyReply {
  if (err.retryAfterSeconds !== undefined) reply.header("retry-after", String(err.retryAfterSeconds));
  return reply
    .code(err.status)
    .header("content-type", "application/json; charset=utf-8")
    .send(JSON.stringify(errorBody(dialect, err)));
}

/** Wraps anything thrown into a GatewayError without leaking stack traces to the client. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const e = err as { code?: string; statusCode?: number; message?: string } | undefined;
  if (e?.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    return new GatewayError("body_too_large", "request body too large", { status: 413 });
  }
  if (e?.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    return new GatewayError("unsupported_media_type", "unsupported content type");
  }
  if (typeof e?.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return new GatewayError("invalid_field", e.message ?? "bad request", { status: e.statusCode });
  }
  return new GatewayError("internal", "internal gateway error", { cause: err });
}
