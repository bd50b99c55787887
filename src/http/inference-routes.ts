/** Inference endpoints of both dialects: each request goes to one instance that has its model. */
import type { FastifyInstance } from "fastify";
import type { GatewayContext } from "./gateway-context.js";
import { priorityOf, proxyInference, type InferenceCall } from "./proxy.js";
import { parseInference, type InferenceEndpoint } from "./request-body.js";
import { dialectOf } from "./dialect.js";
import { applyCanary } from "./canary-apply.js";

/** Path → endpoint of every routed inference call. */
export const INFERENCE_PATHS: Readonly<Record<string, InferenceEndpoint>> = {
  "/api/generate": "generate",
  "/api/chat": "chat",
  "/api/embed": "embed",
  "/api/embeddings": "embeddings",
  "/v1/chat/completions": "openai_chat",
  "/v1/completions": "openai_completions",
  "/v1/embeddings": "openai_embeddings",
};

/** Registers the seven inference endpoints. */
export function registerInferenceRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  for (const [path, endpoint] of Object.entries(INFERENCE_PATHS)) {
    app.post(path, async (request, reply) => {
      let parsed = parseInference(endpoint, request.body);
      let body = request.body as Buffer;
      const canary = ctx.canary && applyCanary(ctx.canary, parsed, request.headers);
      if (canary) {
        ({ parsed, body } = canary);
        reply.raw.setHeader("x-ollama-fleet-model-version", canary.version);
      }
      const call: InferenceCall = {
        endpoint,
        dialect: dialectOf(path),
        path,
        parsed,
        body,
        priority: priorityOf(request.headers["x-priority"]),
      };
      if (!ctx.sharing) {
        await proxyInference(ctx.proxy, call, request, reply);
        return reply;
      }
      // Coalescing or embedding merging may answer it from a call shared with other requests.
      reply.hijack();
      await ctx.sharing.handle(call, { requestId: String(request.id), headers: request.headers }, reply.raw);
      return reply;
    });
  }
}
