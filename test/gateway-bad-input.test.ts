/** Bad input gets the right status in the caller's dialect, and the gateway keeps serving. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";

interface Case {
  name: string;
  method: string;
  path: string;
  body?: string;
  status: number;
  message: RegExp;
}

const CASES: Case[] = [
  {
    name: "malformed JSON on /api/chat",
    method: "POST",
    path: "/api/chat",
    body: "{bad",
    status: 400,
    message: /invalid JSON/,
  },
  {
    name: "malformed JSON on /v1/chat/completions",
    method: "POST",
    path: "/v1/chat/completions",
    body: "{bad",
    status: 400,
    message: /invalid JSON/,
  },
  {
    name: "an empty body",
    method: "POST",
    path: "/api/generate",
    body: "",
    status: 400,
    message: /missing request body/,
  },
  {
    name: "a JSON array instead of an object",
    method: "POST",
    path: "/api/generate",
    body: "[1]",
    status: 400,
    message: /must be a JSON object/,
  },
  {
    name: "a number as model",
    method: "POST",
    path: "/api/generate",
    body: '{"model":5}',
    status: 400,
    message: /"model".*got number/,
  },
  {
    name: "a string as messages",
    method: "POST",
    path: "/api/chat",
    body: '{"model":"llama3.2:1b","messages":"hi"}',
    status: 400,
    message: /"messages".*got string/,
  },
  {
    name: "a string as stream",
    method: "POST",
    path: "/v1/chat/completions",
    body: '{"model":"llama3.2:1b","messages":[],"stream":"yes"}',
    status: 400,
    message: /"stream"/,
  },
  {
    name: "a missing model",
    method: "POST",
    path: "/api/chat",
    body: '{"messages":[]}',
    status: 400,
    message: /^model is required$/,
  },
  {
    name: "a missing model on /v1/embeddings",
    method: "POST",
    path: "/v1/embeddings",
    body: '{"input":"x"}',
    status: 400,
    message: /^model is required$/,
  },
  {
    name: "an unknown model on generate",
    method: "POST",
    path: "/api/generate",
    body: '{"model":"nope"}',
    status: 404,
    message: /^model 'nope' not found$/,
  },
  {
    name: "an unknown model on chat",
    method: "POST",
    path: "/api/chat",
    body: '{"model":"nope","messages":[]}',
    status: 404,
    message: /^model 'nope' not found$/,
  },
  {
    name: "an unknown model on embed",
    method: "POST",
    path: "/api/embed",
    body: '{"model":"nope","input":"x"}',
    status: 404,
    message: /^model "nope" not found, try pulling it first$/,
  },
  {
    name: "an unknown model on /v1/embeddings",
    method: "POST",
    path: "/v1/embeddings",
    body: '{"model":"nope","input":"x"}',
    status: 404,
    message: /model "nope" not found/,
  },
  {
    name: "an unknown model on show",
    method: "POST",
    path: "/api/show",
    body: '{"model":"nope"}',
    status: 404,
    message: /^model 'nope' not found$/,
  },
  {
    name: "an oversized body",
    method: "POST",
    path: "/api/generate",
    body: JSON.stringify({ model: "llama3.2:1b", prompt: "x".repeat(5000) }),
    status: 413,
    message: /too large.*4096 bytes/,
  },
  {
    name: "an oversized body on /v1",
    method: "POST",
    path: "/v1/completions",
    body: JSON.stringify({ model: "llama3.2:1b", prompt: "x".repeat(5000) }),
    status: 413,
    message: /too large/,
  },
  {
    name: "an unknown path",
    method: "GET",
    path: "/api/nothing-here",
    status: 404,
    message: /404 page not found/,
  },
  {
    name: "an unknown /v1 path",
    method: "POST",
    path: "/v1/nothing",
    body: "{}",
    status: 404,
    message: /404 page not found/,
  },
  {
    name: "a wrong method",
    method: "GET",
    path: "/api/chat",
    status: 405,
    message: /method GET not allowed.*POST/,
  },
  {
    name: "a wrong method on /v1",
    method: "GET",
    path: "/v1/chat/completions",
    status: 405,
    message: /not allowed/,
  },
  {
    name: "a wrong method on the dashboard",
    method: "POST",
    path: "/dashboard",
    body: "{}",
    status: 405,
    message: /method POST not allowed on \/dashboard: use GET/,
  },
  {
    name: "a wrong method on an admin path with a parameter",
    method: "GET",
    path: "/fleet/instances/gpu0/drain",
    status: 405,
    message: /method GET not allowed.*POST/,
  },
];

describe("bad input", () => {
  let fleet: FleetFixture;
  before(async () => {
    fleet = await startFleet([{ args: ["--models", "llama3.2:1b:1.3:1.2"] }], (c) => {
      c.gateway.maxRequestBodyBytes = 4096;
    });
  });
  after(async () => fleet?.close());

  for (const c of CASES) {
    it(`answers ${c.name} with ${c.status} in the caller's dialect and keeps serving`, async () => {
      const init: RequestInit = { method: c.method, headers: { "content-type": "application/json" } };
      if (c.body !== undefined) init.body = c.body;
      const res = await fetch(`${fleet.url}${c.path}`, init);
      assert.equal(res.status, c.status);
      assert.match(res.headers.get("content-type") ?? "", /application\/json/);
      assert.ok(res.headers.get("x-request-id"));
      const body = (await res.json()) as { error: unknown };
      if (c.path.startsWith("/v1/")) {
        const err = body.error as { message: string; type: string; code: string };
        assert.equal(typeof err.type, "string");
        assert.match(err.message, c.message);
      } else {
        assert.equal(typeof body.error, "string");
        assert.match(body.error as string, c.message);
      }
      const next = await fetch(`${fleet.url}/api/generate`, {
        method: "POST",
        body: JSON.stringify({
          model: "llama3.2:1b",
          prompt: "ok",
          stream: false,
          options: { num_predict: 1 },
        }),
      });
      assert.equal(next.status, 200);
      assert.equal(((await next.json()) as { done: boolean }).done, true);
    });
  }

  it("reads a JSON body whatever its Content-Type, like Ollama (curl -d sends form-urlencoded)", async () => {
    const res = await fetch(`${fleet.url}/api/generate`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: JSON.stringify({ model: "llama3.2:1b", prompt: "x", stream: false, options: { num_predict: 1 } }),
    });
    assert.equal(res.status, 200);
  });
});
