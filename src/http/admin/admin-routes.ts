/** The gateway's own admin API under `/fleet/`: instance list, status, drain and undrain. */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { GatewayError } from "../../errors/catalog.js";
import type { GatewayContext } from "../gateway-context.js";
import { checkAdmin } from "./admin-auth.js";

/** Registers `/fleet/*` endpoints; all of them follow the admin-key rules. */
export function registerAdminRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const guard = async (req: FastifyRequest): Promise<void> =>
    checkAdmin(ctx.adminAuth, req.headers.authorization);

  app.get("/fleet/instances", { preHandler: guard }, async () => {
    const scores = ctx.router.scores();
    const perf = ctx.perf.snapshot();
    const affinity = ctx.router.affinityStats();
    return {
      strategy: ctx.strategy,
      instances: ctx.fleet.instances().map((i) => ({
        ...i.stats(),
        healthDetail: i.healthTracker.stats(),
        breakerDetail: i.breaker.stats(),
        scores: scores[i.id] ?? [],
        performance: perf.instances.find((p) => p.id === i.id),
        kvCache: affinity.find((a) => a.id === i.id),
      })),
      queue: ctx.router.queueStats(),
    };
  });

  app.get("/fleet/status", { preHandler: guard }, async () => {
    const instances = ctx.fleet.stats();
    const healthy = instances.filter((i) => i.health === "healthy" && !i.draining).length;
    const queue = ctx.router.queueStats();
    const reasons = [
      ...(healthy < instances.length
        ? [`${instances.length - healthy} of ${instances.length} instances out of service`]
        : []),
      ...(ctx.router.cpuFallbackActive() ? ["CPU fallback in use: GPU instances down or saturated"] : []),
      ...(queue.depth >= queue.capacity * 0.8
        ? [`queue nearly full: ${queue.depth}/${queue.capacity} waiting`]
        : []),
    ];
    return {
      gateway: { version: ctx.gatewayVersion, emulated: ctx.emulated },
      instances: { total: instances.length, healthy },
      degraded: reasons.length > 0,
      degradation: reasons,
      canary: ctx.canary?.router.stats() ?? [],
      inFlight: instances.reduce((sum, i) => sum + i.inFlight, 0),
      queue,
      kvCache: {
        ...kvCacheSummary(ctx.router.affinityStats()),
        sessionAdmission: sessionAdmissionView(ctx.router.sessionAdmission()),
      },
      sharing: ctx.sharing?.stats(),
    };
  });

  for (const action of ["drain", "undrain"] as const) {
    app.post<{ Params: { id: string } }>(
      `/fleet/instances/:id/${action}`,
      { preHandler: guard },
      async (req) => {
        const instance = ctx.fleet.get(req.params.id);
        if (!instance) {
          const known = ctx.fleet.instances().map((i) => i.id);
          throw new GatewayError(
            "not_found",
            `no instance '${req.params.id}' (known: ${known.join(", ") || "none"})`,
          );
        }
        instance.draining = action === "drain";
        return instance.stats();
      },
    );
  }
}

/** Fleet-wide KV-cache affinity: predicted (index) and measured (Ollama's timings) hit ratios. */
function kvCacheSummary(stats: ReturnType<GatewayContext["router"]["affinityStats"]>) {
  const sum = (
    k:
      | "lookups"
      | "hits"
      | "promptTokens"
      | "predictedCachedTokens"
      | "measuredPromptTokens"
      | "measuredCachedTokens",
  ) => stats.reduce((total, s) => total + s[k], 0);
  const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
  return {
    lookups: sum("lookups"),
    hits: sum("hits"),
    liveConversations: stats.reduce((total, s) => total + s.liveConversations, 0),
    predictedHitRatio: ratio(sum("predictedCachedTokens"), sum("promptTokens")),
    measuredHitRatio: ratio(sum("measuredCachedTokens"), sum("measuredPromptTokens")),
  };
}

/** Session admission for the admin API: `livenessMs` is null until learned; null when KV affinity is off. */
function sessionAdmissionView(s: ReturnType<GatewayContext["router"]["sessionAdmission"]>) {
  return s ? { ...s, livenessMs: s.livenessMs ?? null } : null;
}
