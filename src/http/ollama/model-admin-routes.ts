/** Model management (pull, create, push, delete, copy) applied to the instances concerned. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Instance } from "../../backend/instance.js";
import { extractErrorMessage } from "../../backend/backend-client.js";
import { GatewayError } from "../../errors/catalog.js";
import { normalizeModelName } from "../../util/model-name.js";
import { checkAdmin } from "../admin/admin-auth.js";
import { fanOut, reachableInstances } from "../fan-out.js";
import type { GatewayContext } from "../gateway-context.js";
import { parseJsonObject } from "../request-body.js";
import { ProgressMerger, type ProgressLine } from "./progress-merge.js";

function modelField(body: Record<string, unknown>, key = "model"): string {
  const v = body[key] ?? body.name;
  if (typeof v !== "string" || v === "") throw new GatewayError("model_required", "model is required");
  return v;
}

/** Registers pull, create, push, delete and copy. */
export function registerModelAdminRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const guard = async (req: FastifyRequest): Promise<void> =>
    checkAdmin(ctx.adminAuth, req.headers.authorization);

  app.post("/api/pull", { preHandler: guard }, async (req, reply) => {
    const body = parseJsonObject(req.body);
    const model = normalizeModelName(modelField(body));
    const reachable = reachableInstances(ctx.fleet.instances());
    const assigned = reachable.filter((i) => i.spec.models.some((m) => normalizeModelName(m) === model));
    await streamMerged(ctx, req, reply, "/api/pull", body, assigned.length > 0 ? assigned : reachable);
  });

  app.post("/api/create", { preHandler: guard }, async (req, reply) => {
    const body = parseJsonObject(req.body);
    modelField(body);
    await streamMerged(ctx, req, reply, "/api/create", body, reachableInstances(ctx.fleet.instances()));
  });

  app.post("/api/push", { preHandler: guard }, async (req, reply) => {
    const body = parseJsonObject(req.body);
    const model = normalizeModelName(modelField(body));
    const holder = reachableInstances(ctx.fleet.instances()).find((i) => i.hasModel(model));
    if (!holder) throw new GatewayError("model_not_found", `model '${modelField(body)}' not found`);
    await streamMerged(ctx, req, reply, "/api/push", body, [holder]);
  });

  app.delete("/api/delete", { preHandler: guard }, async (req, reply) => {
    const body = parseJsonObject(req.body);
    const name = modelField(body);
    const model = normalizeModelName(name);
    await ctx.fleet.refreshStale(1000);
    const holders = reachableInstances(ctx.fleet.instances()).filter((i) => i.hasModel(model));
    if (holders.length === 0) throw new GatewayError("model_not_found", `model '${name}' not found`);
    const results = await fanOut(holders, async (i) => {
      await i.client.json({ method: "DELETE", path: "/api/delete", body: JSON.stringify(body) });
      i.forgetModel(model);
    });
    await refreshAfter(ctx, holders);
    failIfAny(results);
    return reply.code(200).send();
  });

  app.post("/api/copy", { preHandler: guard }, async (req, reply) => {
    const body = parseJsonObject(req.body);
    const source = body.source;
    if (
      typeof source !== "string" ||
      source === "" ||
      typeof body.destination !== "string" ||
      !body.destination
    ) {
      throw new GatewayError("invalid_field", "source and destination are required");
    }
    await ctx.fleet.refreshStale(1000);
    const holders = reachableInstances(ctx.fleet.instances()).filter((i) =>
      i.hasModel(normalizeModelName(source)),
    );
    if (holders.length === 0) throw new GatewayError("model_not_found", `model "${source}" not found`);
    const results = await fanOut(holders, (i) =>
      i.client.json({ method: "POST", path: "/api/copy", body: JSON.stringify(body) }),
    );
    await refreshAfter(ctx, holders);
    failIfAny(results);
    return reply.code(200).send();
  });
}

function failIfAny(
  results: { ok: boolean; instance: Instance; error?: string; status?: number | undefined }[],
): void {
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) return;
  const detail = failed.map((r) => `${r.instance.id}: ${r.error ?? "failed"}`).join("; ");
  throw new GatewayError(
    "upstream_error",
    `failed on ${failed.length} of ${results.length} instances: ${detail}`,
    {
      status: failed[0]?.status && failed.length === results.length ? failed[0].status : 502,
    },
  );
}

async function refreshAfter(ctx: GatewayContext, instances: Instance[]): Promise<void> {
  await Promise.all(instances.map((i) => ctx.fleet.refresh(i.id)));
}

/** Runs a progress-streaming call on every target and streams the merged progress to the client. */
async function streamMerged(
  ctx: GatewayContext,
  req: FastifyRequest,
  reply: FastifyReply,
  path: string,
  body: Record<string, unknown>,
  targets: Instance[],
): Promise<void> {
  if (targets.length === 0) {
    throw new GatewayError("no_instance", "no instance available: 0 reachable instances", {
      retryAfterSeconds: 5,
    });
  }
  const wantsStream = body.stream !== false;
  const upstreamBody = JSON.stringify({ ...body, stream: true });
  const merger = new ProgressMerger(targets.map((t) => t.id));
  const clientGone = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) clientGone.abort();
  });
  reply.hijack();
  const res = reply.raw;
  if (wantsStream) {
    res.writeHead(200, { "content-type": "application/x-ndjson", "x-request-id": String(req.id) });
  }
  const emit = (line: ProgressLine | undefined): void => {
    if (line && wantsStream && !res.destroyed) res.write(`${JSON.stringify(line)}\n`);
  };
  await Promise.all(
    targets.map(async (instance) => {
      try {
        const up = await instance.client.request({
          method: "POST",
          path,
          body: upstreamBody,
          signal: clientGone.signal,
        });
        if (up.statusCode >= 400) {
          merger.fail(instance.id, extractErrorMessage(await up.body.text()));
          return;
        }
        let buffered = "";
        for await (const chunk of up.body as AsyncIterable<Buffer>) {
          buffered += chunk.toString("utf8");
          let nl: number;
          while ((nl = buffered.indexOf("\n")) !== -1) {
            const text = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (text !== "") emit(merger.add(instance.id, JSON.parse(text) as ProgressLine));
          }
        }
        if (buffered.trim() !== "") emit(merger.add(instance.id, JSON.parse(buffered) as ProgressLine));
      } catch (err) {
        merger.fail(instance.id, (err as Error).message);
      }
    }),
  );
  await refreshAfter(ctx, targets);
  const final = merger.final();
  if (res.destroyed) return;
  if (wantsStream) {
    res.end(`${JSON.stringify(final)}\n`);
    return;
  }
  res.writeHead(final.error === undefined ? 200 : 500, {
    "content-type": "application/json; charset=utf-8",
    "x-request-id": String(req.id),
  });
  res.end(JSON.stringify(final));
}
