/**
 * Model version consistency in the admin API: GET /fleet/models lists each model's digest on every
 * instance; POST /fleet/models/sync pulls the tag where it drifts until every holder has one digest.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { extractErrorMessage } from "../../backend/backend-client.js";
import type { Instance } from "../../backend/instance.js";
import { GatewayError } from "../../errors/catalog.js";
import { modelDigests, syncTargets, type ModelDigests } from "../../supervisor/model-drift.js";
import { normalizeModelName } from "../../util/model-name.js";
import { reachableInstances } from "../fan-out.js";
import type { GatewayContext } from "../gateway-context.js";
import { parseJsonObject } from "../request-body.js";
import { checkAdmin } from "./admin-auth.js";

/** One pull of one sync round. */
export interface SyncPull {
  instance: string;
  ok: boolean;
  error?: string;
}

/** What syncing one model did. */
export interface ModelSync {
  model: string;
  before: ModelDigests;
  rounds: { round: 1 | 2; pulls: SyncPull[] }[];
  after: ModelDigests | undefined;
  consistent: boolean;
}

/** The drift report of the reachable instances, from a fresh /api/tags of each (a pull may be seconds old). */
async function currentDigests(ctx: GatewayContext): Promise<ModelDigests[]> {
  await ctx.fleet.refreshAll();
  return modelDigests(
    reachableInstances(ctx.fleet.instances()).map((i) => ({ id: i.id, models: i.tagModels() })),
  );
}

/** Pulls the tag on one instance, streaming so a long download is not cut by a header timeout. */
async function pullOn(instance: Instance, model: string, signal: AbortSignal): Promise<SyncPull> {
  try {
    const body = JSON.stringify({ model, stream: true });
    const res = await instance.client.request({ method: "POST", path: "/api/pull", body, signal });
    const text = await res.body.text();
    if (res.statusCode >= 400) return { instance: instance.id, ok: false, error: extractErrorMessage(text) };
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    const last = JSON.parse(lines[lines.length - 1] ?? "{}") as { status?: string; error?: string };
    if (last.error !== undefined) return { instance: instance.id, ok: false, error: last.error };
    return {
      instance: instance.id,
      ok: last.status === "success",
      ...(last.status === "success" ? {} : { error: "pull did not finish" }),
    };
  } catch (err) {
    return { instance: instance.id, ok: false, error: (err as Error).message };
  }
}

/** Runs up to two sync rounds for one drifting model (see syncTargets) and reports each. */
async function syncModel(ctx: GatewayContext, before: ModelDigests, signal: AbortSignal): Promise<ModelSync> {
  const rounds: ModelSync["rounds"] = [];
  const pulled = new Set<string>();
  let now: ModelDigests | undefined = before;
  for (const round of [1, 2] as const) {
    const targets = now === undefined ? [] : syncTargets(now, round, pulled);
    if (targets.length === 0) break;
    const instances = targets.map((id) => ctx.fleet.get(id)).filter((i): i is Instance => i !== undefined);
    const pulls = await Promise.all(instances.map((i) => pullOn(i, before.model, signal)));
    for (const id of targets) pulled.add(id);
    rounds.push({ round, pulls });
    now = (await currentDigests(ctx)).find((d) => d.model === before.model);
    if (now?.consistent !== false || pulls.some((p) => !p.ok)) break;
  }
  return { model: before.model, before, rounds, after: now, consistent: now?.consistent ?? false };
}

/** Registers GET /fleet/models and POST /fleet/models/sync; both follow the admin-key rules. */
export function registerModelConsistencyRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const guard = async (req: FastifyRequest): Promise<void> =>
    checkAdmin(ctx.adminAuth, req.headers.authorization);

  app.get("/fleet/models", { preHandler: guard }, async () => {
    const models = await currentDigests(ctx);
    return { consistent: models.every((m) => m.consistent), models };
  });

  app.post("/fleet/models/sync", { preHandler: guard }, async (req, reply) => {
    const body = req.body === undefined || req.body === "" ? {} : parseJsonObject(req.body);
    if (body.model !== undefined && (typeof body.model !== "string" || body.model === "")) {
      throw new GatewayError("invalid_field", "model must be a model name, or left out to sync every model");
    }
    const only = typeof body.model === "string" ? normalizeModelName(body.model) : undefined;
    const all = await currentDigests(ctx);
    if (only !== undefined && !all.some((m) => m.model === only)) {
      throw new GatewayError("model_not_found", `model '${String(body.model)}' is on no reachable instance`);
    }
    const drifting = all.filter((m) => !m.consistent && (only === undefined || m.model === only));
    const gone = new AbortController();
    // A client that leaves stops the pulls still running (Ollama keeps what it downloaded).
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) gone.abort();
    });
    const synced: ModelSync[] = [];
    for (const drift of drifting) synced.push(await syncModel(ctx, drift, gone.signal));
    return { consistent: synced.every((s) => s.consistent), synced };
  });
}
