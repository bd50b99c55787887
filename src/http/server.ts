/** Builds the gateway's Fastify server: parsers, routes of both dialects, admin API, errors. */
import { randomUUID } from "node:crypto";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { registerDashboardRoutes, type DashboardOptions } from "../dashboard/dashboard-routes.js";
import { GatewayError } from "../errors/catalog.js";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import { registerAdminRoutes } from "./admin/admin-routes.js";
import { registerSupervisorRoutes } from "./admin/supervisor-routes.js";
import { registerModelConsistencyRoutes } from "./admin/model-consistency-routes.js";
import { dialectOf, sendError, toGatewayError } from "./dialect.js";
import type { GatewayContext } from "./gateway-context.js";
import { INFERENCE_PATHS, registerInferenceRoutes } from "./inference-routes.js";
import { registerInfoRoutes } from "./ollama/info-routes.js";
import { registerModelAdminRoutes } from "./ollama/model-admin-routes.js";
import { registerOpenAiModelRoutes } from "./openai/model-routes.js";

/** Options of the HTTP server. */
export interface ServerOptions {
  logger: Logger;
  maxRequestBodyBytes: number;
  metrics: GatewayMetrics;
  /** Dashboard options (a measuring GPU source); the dashboard is always served. */
  dashboard?: DashboardOptions;
}

/** Every path the gateway serves, with its methods, so a wrong method gets 405 rather than 404. */
const KNOWN_PATHS: Readonly<Record<string, readonly string[]>> = {
  "/": ["GET", "HEAD"],
  "/api/version": ["GET"],
  "/api/tags": ["GET"],
  "/api/ps": ["GET"],
  "/api/show": ["POST"],
  "/api/pull": ["POST"],
  "/api/push": ["POST"],
  "/api/create": ["POST"],
  "/api/copy": ["POST"],
  "/api/delete": ["DELETE"],
  "/v1/models": ["GET"],
  "/metrics": ["GET"],
  "/healthz": ["GET"],
  "/fleet/instances": ["GET"],
  "/fleet/status": ["GET"],
  ...Object.fromEntries(Object.keys(INFERENCE_PATHS).map((p) => [p, ["POST"]])),
};

const REQUEST_ID_RE = /^[\w.:-]{1,128}$/;

/** Creates the Fastify app with every route registered (not yet listening). */
export function buildServer(ctx: GatewayContext, options: ServerOptions): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // One structured line per proxied request is logged by the proxy's event, not Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxRequestBodyBytes,
    forceCloseConnections: true,
    // Ollama serves request ids nowhere; we accept a sane client id or make one, and echo it back.
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID_RE.test(given) ? given : randomUUID();
    },
  });

  // Every route registered below, by path, so a wrong method gets 405 on our own paths too (dashboard,
  // admin). Paths with parameters are matched by a pattern built from them.
  const registered = new Map<string, Set<string>>();
  app.addHook("onRoute", (route) => {
    const methods = registered.get(route.url) ?? new Set<string>();
    for (const m of [route.method].flat()) methods.add(m);
    registered.set(route.url, methods);
  });
  const methodsFor = (path: string): readonly string[] | undefined => {
    const known = KNOWN_PATHS[path] ?? registered.get(path);
    if (known) return [...known];
    for (const [url, methods] of registered) {
      if (!url.includes(":")) continue;
      const pattern = new RegExp(`^${url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:\w+/g, "[^/]+")}$`);
      if (pattern.test(path)) return [...methods];
    }
    return path.startsWith("/v1/models/") ? ["GET"] : undefined;
  };

  // Ollama reads JSON whatever the Content-Type (curl -d sends form-urlencoded): so do we.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  // Set on the raw response so the headers also go out on replies the proxy hijacks.
  app.addHook("onRequest", (req, reply, done) => {
    const raw = reply.raw;
    raw.setHeader("x-request-id", String(req.id));
    raw.setHeader("x-ollama-fleet-version", ctx.gatewayVersion);
    if (ctx.emulated) raw.setHeader("x-ollama-fleet-emulated", "true");
    done();
  });

  app.setErrorHandler((err, req, reply) => {
    let gwErr = toGatewayError(err);
    if (gwErr.code === "body_too_large") {
      const size = Number(req.headers["content-length"]);
      const got = Number.isFinite(size) ? `${size} bytes` : "the body";
      gwErr = new GatewayError(
        "body_too_large",
        `request body too large: ${got} exceeds the limit of ${options.maxRequestBodyBytes} bytes`,
      );
    }
    if (gwErr.code === "internal") req.log.error({ err }, "unhandled error");
    if (reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    return sendError(reply, dialectOf(req.url), gwErr);
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split("?")[0] ?? "/";
    const methods = methodsFor(path);
    if (methods && !methods.includes(req.method)) {
      reply.header("allow", methods.join(", "));
      return sendError(
        reply,
        dialectOf(path),
        new GatewayError(
          "method_not_allowed",
          `method ${req.method} not allowed on ${path}: use ${methods.join(" or ")}`,
        ),
      );
    }
    return sendError(
      reply,
      dialectOf(path),
      new GatewayError("not_found", `404 page not found: ${req.method} ${path}`),
    );
  });

  app.get("/healthz", async () => {
    const instances = ctx.fleet.stats();
    return {
      status: "ok",
      instances: instances.length,
      healthy: instances.filter((i) => i.health === "healthy").length,
    };
  });
  app.get("/metrics", async (_req, reply) => {
    const { contentType, body } = await options.metrics.render();
    return reply.type(contentType).send(body);
  });

  registerInfoRoutes(app, ctx);
  registerInferenceRoutes(app, ctx);
  registerOpenAiModelRoutes(app, ctx);
  registerModelAdminRoutes(app, ctx);
  registerAdminRoutes(app, ctx);
  if (ctx.supervisor) registerSupervisorRoutes(app, ctx.supervisor, ctx.adminAuth);
  registerModelConsistencyRoutes(app, ctx);
  registerDashboardRoutes(app, ctx, options.dashboard);
  return app;
}
