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
    return {
      strategy: ctx.strategy,
      instances: ctx.fleet.instances().map((i) => ({
        ...i.stats(),
        healthDetail: i.healthTracker.stats(),
        breakerDetail: i.breaker.stats(),
        scores: scores[i.id] ?? [],
        performance: perf.instances.find((p) => p.id === i.id),
      })),
      queue: ctx.router.queueStats(),
    };
  });

  app.get("/fleet/status", { preHandler: guard }, async () => {
    const instances = ctx.fleet.stats();
    const healthy = instances.filter((i) => i.health === "healthy" && !i.draining).length;
    return {
      gateway: { version: ctx.gatewayVersion, emulated: ctx.emulated },
      instances: { total: instances.length, healthy },
      degraded: healthy < instances.length,
      inFlight: instances.reduce((sum, i) => sum + i.inFlight, 0),
      queue: ctx.router.queueStats(),
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
