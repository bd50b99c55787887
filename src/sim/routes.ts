/** The route table: Ollama's paths and methods (routes.go GenerateRoutes), matched like gin. */
import type { EmuContext, Handler } from "./context.js";
import { sendText, type Exchange } from "./http-io.js";
import {
  handleCopy,
  handleCreate,
  handleDelete,
  handleHeadBlob,
  handlePs,
  handlePull,
  handlePush,
  handleShow,
  handleTags,
  handleVersion,
} from "./model-admin.js";
import { handleChat, handleGenerate } from "./ollama-api.js";
import { handleEmbed, handleEmbeddings } from "./ollama-embed.js";
import {
  handleChatCompletions,
  handleCompletions,
  handleModel,
  handleModels,
  handleOpenAiEmbeddings,
} from "./openai-api.js";

const root: Handler = (_ctx, x) => sendText(x, 200, "Ollama is running");

const EXACT: Record<string, Record<string, Handler>> = {
  "/": { GET: root, HEAD: root },
  "/api/version": { GET: handleVersion, HEAD: handleVersion },
  "/api/tags": { GET: handleTags, HEAD: handleTags },
  "/api/ps": { GET: handlePs },
  "/api/show": { POST: handleShow },
  "/api/generate": { POST: handleGenerate },
  "/api/chat": { POST: handleChat },
  "/api/embed": { POST: handleEmbed },
  "/api/embeddings": { POST: handleEmbeddings },
  "/api/pull": { POST: handlePull },
  "/api/push": { POST: handlePush },
  "/api/create": { POST: handleCreate },
  "/api/copy": { POST: handleCopy },
  "/api/delete": { DELETE: handleDelete },
  "/v1/chat/completions": { POST: handleChatCompletions },
  "/v1/completions": { POST: handleCompletions },
  "/v1/embeddings": { POST: handleOpenAiEmbeddings },
  "/v1/models": { GET: handleModels },
};

/** Endpoints that run a model: they get fault plans and count as in flight. */
export const INFERENCE_PATHS = new Set([
  "/api/generate",
  "/api/chat",
  "/api/embed",
  "/api/embeddings",
  "/v1/chat/completions",
  "/v1/completions",
  "/v1/embeddings",
]);

/** The methods a path answers, with their handlers (parameterised paths included). */
export function routeFor(path: string): Record<string, Handler> | undefined {
  const exact = EXACT[path];
  if (exact) return exact;
  const model = /^\/v1\/models\/(.+)$/.exec(path);
  if (model) {
    const name = decodeURIComponent(model[1]!);
    return { GET: (ctx: EmuContext, x: Exchange) => handleModel(ctx, x, name) };
  }
  const blob = /^\/api\/blobs\/([^/]+)$/.exec(path);
  if (blob) {
    const digest = decodeURIComponent(blob[1]!);
    return {
      HEAD: (ctx, x) => handleHeadBlob(ctx, x, digest),
      POST: (_ctx, x) => {
        x.res.writeHead(201, { "Content-Length": 0 });
        x.res.end();
      },
    };
  }
  return undefined;
}

/** gin's answers for an unknown path (404) and a known path with another method (405). */
export function answerNoRoute(x: Exchange, route: Record<string, Handler> | undefined): void {
  if (!route) return sendText(x, 404, "404 page not found");
  sendText(x, 405, "405 method not allowed", { Allow: Object.keys(route).join(", ") });
}
