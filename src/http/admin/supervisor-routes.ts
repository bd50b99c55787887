/**
 * Admin endpoints of the supervisor (present when the gateway launched its instances): every instance's
 * state, restarts, last exit, recent output and the out-of-memory counters; restarting a failed instance.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { GatewayError } from "../../errors/catalog.js";
import type { SupervisedFleet } from "../../supervisor/gateway-link.js";
import type { AdminAuthSettings } from "./admin-auth.js";
import { checkAdmin } from "./admin-auth.js";

/** Registers `GET /fleet/supervisor` and `POST /fleet/instances/:id/restart` (admin-key rules apply). */
export function registerSupervisorRoutes(
  app: FastifyInstance,
  supervisor: SupervisedFleet,
  auth: AdminAuthSettings,
): void {
  const guard = async (req: FastifyRequest): Promise<void> => checkAdmin(auth, req.headers.authorization);

  app.get("/fleet/supervisor", { preHandler: guard }, async () => supervisor.stats());

  app.post<{ Params: { id: string } }>("/fleet/instances/:id/restart", { preHandler: guard }, async (req) => {
    const stats = supervisor.stats();
    const instance = stats.instances.find((i) => i.id === req.params.id);
    if (!instance) {
      const known = stats.instances.map((i) => i.id);
      throw new GatewayError(
        "not_found",
        `no supervised instance '${req.params.id}' (known: ${known.join(", ") || "none"})`,
      );
    }
    if (!supervisor.retry(instance.id)) {
      throw new GatewayError(
        "invalid_field",
        `instance '${instance.id}' is ${instance.state}, not failed: the supervisor restarts it by itself`,
        { status: 409 },
      );
    }
    return supervisor.stats().instances.find((i) => i.id === instance.id);
  });
}
