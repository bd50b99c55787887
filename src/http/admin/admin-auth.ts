/** Who may call model-management and admin endpoints. */
import { timingSafeEqual } from "node:crypto";
import { GatewayError } from "../../errors/catalog.js";

/** Settings that decide admin access. */
export interface AdminAuthSettings {
  adminKey: string | undefined;
  listenHost: string;
}

/** Whether a listen host only accepts local connections. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * Throws unless the request may use admin endpoints: open on loopback with no key configured,
 * otherwise only with `Authorization: Bearer <admin key>`.
 */
export function checkAdmin(settings: AdminAuthSettings, authorization: string | undefined): void {
  if (settings.adminKey === undefined || settings.adminKey === "") {
    if (isLoopbackHost(settings.listenHost)) return;
    throw new GatewayError(
      "forbidden",
      `admin endpoints are disabled: the gateway listens on ${settings.listenHost} and no AdminKey is configured`,
    );
  }
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? "");
  if (!match?.[1]) {
    throw new GatewayError("unauthorized", "admin key required: send Authorization: Bearer <admin key>");
  }
  const given = Buffer.from(match[1].trim());
  const expected = Buffer.from(settings.adminKey);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new GatewayError("forbidden", "admin key rejected");
  }
}
