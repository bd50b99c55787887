/**
 * `/dashboard`: the page, its static assets (uPlot served from node_modules, so it works offline), the
 * Server-Sent Events stream and a JSON snapshot. Read-only like /metrics; drain/undrain go through the admin
 * API with its key rules.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { GatewayError } from "../errors/catalog.js";
import type { GatewayContext } from "../http/gateway-context.js";
import { DashboardHub, type DashboardHubOptions } from "./dashboard-hub.js";

/** Options of the dashboard routes. */
export type DashboardOptions = DashboardHubOptions;

/** The page may load only what the gateway itself serves: no CDN, no inline script. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** Registers the dashboard; the hub starts with the server and closes before it. */
export function registerDashboardRoutes(
  app: FastifyInstance,
  ctx: GatewayContext,
  options: DashboardOptions = {},
): DashboardHub {
  const hub = new DashboardHub(ctx, options);
  // onListen, not onReady: a listen that fails (port taken) must not leave the sampling timer running.
  app.addHook("onListen", async () => hub.start());
  // preClose, not onClose: open event streams would otherwise hold the server's close open.
  app.addHook("preClose", async () => hub.close());

  const files = assetFiles();
  const cache = new Map<string, Buffer>();
  const serve = async (name: string): Promise<{ body: Buffer; type: string }> => {
    const path = files.get(name);
    if (path === undefined) throw new GatewayError("not_found", `404 page not found: GET /dashboard/${name}`);
    let body = cache.get(name);
    if (body === undefined) {
      body = await readFile(path);
      cache.set(name, body);
    }
    return { body, type: TYPES[name.slice(name.lastIndexOf("."))] ?? "application/octet-stream" };
  };

  const page = async (_req: unknown, reply: import("fastify").FastifyReply) => {
    const { body, type } = await serve("index.html");
    return reply
      .type(type)
      .header("content-security-policy", CSP)
      .header("cache-control", "no-cache")
      .header("x-content-type-options", "nosniff")
      .send(body);
  };
  app.get("/dashboard", page);
  app.get("/dashboard/", page);
  app.get<{ Params: { file: string } }>("/dashboard/assets/:file", async (req, reply) => {
    const { body, type } = await serve(req.params.file);
    return reply
      .type(type)
      .header("cache-control", "no-cache")
      .header("x-content-type-options", "nosniff")
      .send(body);
  });
  // `?series=none` leaves the history out (the status command wants only the present).
  app.get<{ Querystring: { series?: string } }>("/dashboard/state", async (req, reply) => {
    const state = hub.state();
    if (req.query.series === "none") state.series = [];
    return reply.header("cache-control", "no-store").send(state);
  });
  app.get("/dashboard/events", (_req, reply) => {
    reply.hijack();
    hub.addClient(reply.raw);
  });
  return hub;
}

/** Asset name → file: our own files beside the sources, uPlot from its package. */
function assetFiles(): Map<string, string> {
  const here = dirname(fileURLToPath(import.meta.url));
  // Compiled code runs from dist/src/dashboard; the assets stay in src/dashboard/assets.
  const dir = [join(here, "assets"), join(here, "../../../src/dashboard/assets")].find((d) => existsSync(d));
  if (dir === undefined) throw new Error(`dashboard assets not found beside ${here}`);
  const files = new Map<string, string>();
  for (const name of ["index.html", "dashboard.css", "dashboard.js", "charts.js", "views.js", "format.js"]) {
    files.set(name, join(dir, name));
  }
  const require = createRequire(import.meta.url);
  files.set("uPlot.iife.min.js", require.resolve("uplot/dist/uPlot.iife.min.js"));
  files.set("uPlot.min.css", require.resolve("uplot/dist/uPlot.min.css"));
  return files;
}
