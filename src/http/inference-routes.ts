/** Inference endpoints of both dialects: each request goes to one instance that has its model. */
import type { FastifyInstance } from "fastify";
import type { GatewayContext } from "./gateway-context.js";
import { priorityOf, proxyInference } from "./proxy.js";
import { parseInference, type InferenceEndpoint } from "./request-body.js";
import { dialectOf } from "./dialect.js";

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
      const parsed = parseInference(endpoint, request.body);
      await proxyInference(
        ctx.proxy,
        {
          endpoint,
          dialect: dialectOf(path),
          path,
          parsed,
          body: request.body as Buffer,
          priority: priorityOf(request.headers["x-priority"]),
        },
        request,
        reply,
      );
      return reply;
    });
  }
}
