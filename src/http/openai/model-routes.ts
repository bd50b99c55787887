/** OpenAI-compatible model listing (`/v1/models`, `/v1/models/:model`), from the union of instances. */
import type { FastifyInstance } from "fastify";
import { GatewayError } from "../../errors/catalog.js";
import type { OllamaTagModel } from "../../backend/ollama-types.js";
import { normalizeModelName } from "../../util/model-name.js";
import type { GatewayContext } from "../gateway-context.js";
import { unionTags } from "../ollama/info-routes.js";

function toOpenAiModel(m: OllamaTagModel): {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
} {
  const created = Math.floor(Date.parse(m.modified_at) / 1000);
  const ownedBy = m.name.includes("/") ? (m.name.split("/")[0] ?? "library") : "library";
  return { id: m.name, object: "model", created: Number.isFinite(created) ? created : 0, owned_by: ownedBy };
}

/** Registers the OpenAI model-listing endpoints. */
export function registerOpenAiModelRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get("/v1/models", async () => {
    const tags = await unionTags(ctx);
    const byName = new Map<string, OllamaTagModel>();
    for (const t of tags) if (!byName.has(t.name)) byName.set(t.name, t);
    return { object: "list", data: [...byName.values()].map(toOpenAiModel) };
  });

  app.get<{ Params: { model: string } }>("/v1/models/*", async (req) => {
    const name = (req.params as Record<string, string>)["*"] ?? "";
    const wanted = normalizeModelName(name);
    const found = (await unionTags(ctx)).find((t) => normalizeModelName(t.name) === wanted);
    if (!found) throw new GatewayError("model_not_found", `model "${name}" not found`);
    return toOpenAiModel(found);
  });
}
