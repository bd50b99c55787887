/** Ollama's read-only endpoints, answered from every reachable instance at once. */
import type { FastifyInstance } from "fastify";
import type { OllamaPsModel, OllamaTagModel } from "../../backend/ollama-types.js";
import { GatewayError } from "../../errors/catalog.js";
import { normalizeModelName } from "../../util/model-name.js";
import { fanOut, reachableInstances } from "../fan-out.js";
import type { GatewayContext } from "../gateway-context.js";
import { modelNotFoundMessage } from "../proxy.js";
import { parseJsonObject } from "../request-body.js";

/** Union of /api/tags over reachable instances, deduplicated by name and digest. */
export async function unionTags(ctx: GatewayContext): Promise<OllamaTagModel[]> {
  const results = await fanOut(reachableInstances(ctx.fleet.instances()), (i) =>
    i.client.json<{ models?: OllamaTagModel[] }>({
      method: "GET",
      path: "/api/tags",
      signal: AbortSignal.timeout(ctx.fanOutTimeoutMs),
    }),
  );
  const seen = new Map<string, OllamaTagModel>();
  for (const r of results) {
    if (!r.ok) {
      ctx.fleet.markFailure(r.instance, `/api/tags failed: ${r.error}`);
      continue;
    }
    const models = r.value.models ?? [];
    r.instance.setTags(models);
    for (const m of models) {
      const key = `${m.name}\u0000${m.digest}`;
      if (!seen.has(key)) seen.set(key, m);
    }
  }
  return [...seen.values()].sort(
    (a, b) => b.modified_at.localeCompare(a.modified_at) || a.name.localeCompare(b.name),
  );
}

/** Registers `/`, `/api/version`, `/api/tags`, `/api/ps` and `/api/show`. */
export function registerInfoRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  // Fastify answers HEAD for every GET route by itself (headers, no body), as Ollama does for `/`.
  app.get("/", async (_req, reply) => reply.type("text/plain; charset=utf-8").send("Ollama is running"));

  app.get("/api/version", async (_req, reply) => {
    const versions = ctx.fleet
      .instances()
      .filter((i) => i.health === "healthy" && i.version !== undefined)
      .map((i) => i.version as string);
    // The oldest version is the safe one to announce: clients gate features on it.
    const version = versions.sort(compareVersions)[0] ?? "0.0.0";
    return reply.send({ version });
  });

  app.get("/api/tags", async () => ({ models: await unionTags(ctx) }));

  app.get("/api/ps", async () => {
    const results = await fanOut(reachableInstances(ctx.fleet.instances()), (i) =>
      i.client.json<{ models?: OllamaPsModel[] }>({
        method: "GET",
        path: "/api/ps",
        signal: AbortSignal.timeout(ctx.fanOutTimeoutMs),
      }),
    );
    const models: (OllamaPsModel & { instance: string })[] = [];
    for (const r of results) {
      if (!r.ok) {
        ctx.fleet.markFailure(r.instance, `/api/ps failed: ${r.error}`);
        continue;
      }
      r.instance.setLoaded(r.value.models ?? []);
      for (const m of r.value.models ?? []) models.push({ ...m, instance: r.instance.id });
    }
    return { models };
  });

  app.post("/api/show", async (req, reply) => {
    const body = parseJsonObject(req.body);
    const name = typeof body.model === "string" && body.model !== "" ? body.model : body.name;
    if (typeof name !== "string" || name === "")
      throw new GatewayError("model_required", "model is required");
    const model = normalizeModelName(name);
    const holders = reachableInstances(ctx.fleet.instances()).filter((i) => i.hasModel(model));
    for (const instance of holders) {
      try {
        const res = await instance.client.request({
          method: "POST",
          path: "/api/show",
          body: req.body as Buffer,
          signal: AbortSignal.timeout(ctx.fanOutTimeoutMs),
        });
        const text = await res.body.text();
        if (res.statusCode >= 500) continue;
        return reply
          .code(res.statusCode)
          .header("content-type", "application/json; charset=utf-8")
          .header("x-ollama-fleet-instance", instance.id)
          .send(text);
      } catch (err) {
        ctx.fleet.markFailure(instance, `/api/show failed: ${(err as Error).message}`);
      }
    }
    throw new GatewayError("model_not_found", modelNotFoundMessage("show", name));
  });
}

/** Orders semantic versions ascending ("0.5.10" after "0.5.9"); non-numeric parts compare as text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, "").split(/[.-]/);
  const pb = b.replace(/^v/, "").split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "0";
    const y = pb[i] ?? "0";
    const nx = Number(x);
    const ny = Number(y);
    const cmp = Number.isNaN(nx) || Number.isNaN(ny) ? x.localeCompare(y) : nx - ny;
    if (cmp !== 0) return cmp;
  }
  return 0;
}
