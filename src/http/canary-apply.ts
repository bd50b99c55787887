/** Rewrites a request for a canary-split model name to the version chosen for it. */
import type { IncomingHttpHeaders } from "node:http";
import type { CanaryRouter } from "../routing/canary.js";
import { normalizeModelName } from "../util/model-name.js";
import type { ParsedInference } from "./request-body.js";

/** The request as it goes upstream after the split, and the version that serves it. */
export interface CanaryRewrite {
  parsed: ParsedInference;
  body: Buffer;
  version: string;
}

/** The session key: the configured header, else the OpenAI `user` field. */
function sessionKeyOf(
  headers: IncomingHttpHeaders,
  header: string,
  json: Record<string, unknown>,
): string | undefined {
  const value = headers[header.toLowerCase()];
  const fromHeader = Array.isArray(value) ? value[0] : value;
  if (fromHeader) return fromHeader;
  return typeof json.user === "string" && json.user !== "" ? json.user : undefined;
}

/** The rewritten request when its model is split, else undefined (the request goes as it came). */
export function applyCanary(
  canary: { router: CanaryRouter; sessionHeader: string },
  parsed: ParsedInference,
  headers: IncomingHttpHeaders,
): CanaryRewrite | undefined {
  const choice = canary.router.resolve(
    normalizeModelName(parsed.model),
    sessionKeyOf(headers, canary.sessionHeader, parsed.json),
  );
  if (!choice) return undefined;
  const json = { ...parsed.json, model: choice.model };
  return {
    parsed: { ...parsed, model: choice.model, json },
    body: Buffer.from(JSON.stringify(json)),
    version: choice.model,
  };
}
