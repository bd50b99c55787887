/**
 * The one catalog of gateway errors: stable codes, HTTP status and the OpenAI error type.
 * Messages are built by the caller and carry the numbers that explain them.
 */

/** Stable error codes the gateway can answer with. */
export type ErrorCode =
  | "bad_json"
  | "missing_body"
  | "invalid_field"
  | "model_required"
  | "model_not_found"
  | "body_too_large"
  | "no_instance"
  | "queue_full"
  | "queue_timeout"
  | "upstream_error"
  | "upstream_timeout"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "unsupported_media_type"
  | "client_gone"
  | "internal";

interface CatalogEntry {
  status: number;
  openaiType: string;
}

const CATALOG: Readonly<Record<ErrorCode, CatalogEntry>> = {
  bad_json: { status: 400, openaiType: "invalid_request_error" },
  missing_body: { status: 400, openaiType: "invalid_request_error" },
  invalid_field: { status: 400, openaiType: "invalid_request_error" },
  model_required: { status: 400, openaiType: "invalid_request_error" },
  model_not_found: { status: 404, openaiType: "not_found_error" },
  body_too_large: { status: 413, openaiType: "invalid_request_error" },
  no_instance: { status: 503, openaiType: "api_error" },
  queue_full: { status: 503, openaiType: "api_error" },
  queue_timeout: { status: 503, openaiType: "api_error" },
  upstream_error: { status: 502, openaiType: "api_error" },
  upstream_timeout: { status: 504, openaiType: "api_error" },
  unauthorized: { status: 401, openaiType: "invalid_request_error" },
  forbidden: { status: 403, openaiType: "invalid_request_error" },
  not_found: { status: 404, openaiType: "invalid_request_error" },
  method_not_allowed: { status: 405, openaiType: "invalid_request_error" },
  unsupported_media_type: { status: 415, openaiType: "invalid_request_error" },
  // nginx's convention for "client closed the request"; never sent, only logged and counted.
  client_gone: { status: 499, openaiType: "invalid_request_error" },
  internal: { status: 500, openaiType: "api_error" },
};

/** An error the gateway answers to a client, rendered in the client's dialect at the edge. */
export class GatewayError extends Error {
  /** HTTP status taken from the catalog unless overridden (e.g. an upstream's own status). */
  readonly status: number;
  /** Seconds the client should wait before retrying; sent as `Retry-After`. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { status?: number; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "GatewayError";
    this.status = options.status ?? CATALOG[code].status;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The OpenAI `error.type` for this code. */
  get openaiType(): string {
    return CATALOG[this.code].openaiType;
  }
}

/** Catalog status for a code (used by tests and docs). */
export function statusOf(code: ErrorCode): number {
  return CATALOG[code].status;
}
