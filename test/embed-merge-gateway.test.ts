/**
 * Embedding merging end to end on an emulator process: concurrent requests of every dialect leave as
 * one upstream /api/embed call and each client gets byte for byte the vectors of its own unmerged
 * call; a lone request goes as it is; one member's bad input fails only that member.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import type { GatewayEvents } from "../src/http/gateway-events.js";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";

const MODEL = "nomic-embed-text";
// A slow card (2 GB/s): a short input takes tens of milliseconds, so requests overlap reliably.
const EMULATOR = { args: ["--models", MODEL, "--gpu", "Slow card:24:2", "--time-scale", "1"] };
type Json = Record<string, unknown>;

interface Answer {
  status: number;
  text: string;
  json: Json;
}

async function call(base: string, path: string, body: unknown, signal?: AbortSignal): Promise<Answer> {
  const res = await fetch(`${base}${path}`, { method: "POST", body: JSON.stringify(body), signal });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) as Json };
}

/** The exact bytes of the vectors in an answer of either dialect. */
function vectorBytes(path: string, text: string): string {
  const [from, to] =
    path === "/v1/embeddings" ? ['"data":', ',"model":'] : ['"embeddings":', ',"total_duration"'];
  const start = text.indexOf(from);
  const end = text.indexOf(to, start);
  assert.ok(start >= 0 && end > start, `no vectors in ${text.slice(0, 200)}`);
  return text.slice(start + from.length, end);
}

/**
 * Requests long enough (about 1.5 s each on the slow card) to keep both of the model's lanes busy (the
 * gateway lets two calls per instance through before it starts to collect) while the test's other
 * requests arrive, even on a loaded machine; the window is long, so those wait for a lane.
 */
async function holdLanes(base: string, extra: Json = {}): Promise<number[]> {
  const input = (n: number): string => Array.from({ length: 200 }, (_, i) => `lane${n}x${i}`).join(" ");
  const held = [0, 1].map((n) => call(base, "/api/embed", { model: MODEL, input: input(n), ...extra }));
  return (await Promise.all(held)).map((a) => a.status);
}

function promptTokens(path: string, json: Json): number {
  return path === "/v1/embeddings"
    ? ((json.usage as Json).prompt_tokens as number)
    : ((json.prompt_eval_count as number | undefined) ?? 0);
}

describe("embedding merging", () => {
  let fleet: FleetFixture;
  const merges: GatewayEvents["embed-merged"][] = [];
  before(async () => {
    fleet = await startFleet([EMULATOR], (c) => {
      c.loadBalancing.batchWindowMs = 10_000;
    });
    fleet.gateway.events.on("embed-merged", (e) => void merges.push(e));
    const warm = await call(fleet.emulators[0]!.url, "/api/embed", { model: MODEL, input: "warm up" });
    assert.equal(warm.status, 200);
  });
  beforeEach(async () => {
    merges.length = 0;
    await fleet.emulators[0]!.resetStats();
  });
  after(async () => fleet?.close());

  const upstream = async (path: string): Promise<number> =>
    (await fleet.emulators[0]!.stats()).requests.byEndpoint[path] ?? 0;

  it("sends concurrent requests of both dialects as one /api/embed call, each answered exactly as alone", async () => {
    const members: [string, Json][] = [
      ["/api/embed", { model: MODEL, input: "the first request" }],
      ["/api/embed", { model: MODEL, input: ["red apples", "green pears", "blue plums"] }],
      ["/v1/embeddings", { model: MODEL, input: "an openai request" }],
      ["/v1/embeddings", { model: MODEL, input: ["two", "openai inputs"], encoding_format: "base64" }],
      ["/v1/embeddings", { model: MODEL, input: "" }],
      ["/api/embed", { model: MODEL, input: ["a <tagged> & escaped input"], extra_field: 1 }],
    ];
    // The first request takes the model's only lane; the others arrive while it runs and collect.
    const blockers = holdLanes(fleet.url);
    await new Promise((r) => setTimeout(r, 20));
    const merged = await Promise.all(members.map(([path, body]) => call(fleet.url, path, body)));
    assert.deepEqual(await blockers, [200, 200]);
    assert.equal(await upstream("/api/embed"), 3, "the two lane holders, then one merged call");
    assert.equal(await upstream("/v1/embeddings"), 0);
    const metrics = await (await fetch(`${fleet.url}/metrics`)).text();
    assert.match(metrics, /ollama_fleet_embed_merged_calls_total\{model="[^"]+",outcome="split"\} 1\n/);
    assert.match(metrics, /ollama_fleet_embed_merged_requests_total\{model="[^"]+"\} 6\n/);
    assert.deepEqual(
      merges.map((m) => [m.members, m.inputs, m.uniqueInputs, m.outcome]),
      [[6, 9, 9, "split"]],
    );
    const status = (await (await fetch(`${fleet.url}/fleet/status`)).json()) as {
      sharing: { embedMerging: { enabled: boolean; splitCalls: number; mergedInputs: number } };
    };
    assert.deepEqual(status.sharing.embedMerging, {
      ...status.sharing.embedMerging,
      enabled: true,
      splitCalls: 1,
      mergedInputs: 9,
    });

    let mergedTokens = 0;
    let aloneTokens = 0;
    for (const [i, [path, body]] of members.entries()) {
      const got = merged[i]!;
      const alone = await call(fleet.emulators[0]!.url, path, body);
      assert.equal(got.status, 200, got.text);
      assert.equal(
        vectorBytes(path, got.text),
        vectorBytes(path, alone.text),
        `${path} ${JSON.stringify(body)}`,
      );
      assert.equal(got.json.model, alone.json.model);
      assert.deepEqual(Object.keys(got.json), Object.keys(alone.json), "the same fields in the same order");
      mergedTokens += promptTokens(path, got.json);
      aloneTokens += promptTokens(path, alone.json);
    }
    assert.equal(mergedTokens, aloneTokens, "the members' prompt token shares add up to the real count");
  });

  it("embeds an input shared by two requests once and gives it to both", async () => {
    const blockers = holdLanes(fleet.url);
    await new Promise((r) => setTimeout(r, 5));
    const [x, y] = await Promise.all([
      call(fleet.url, "/api/embed", { model: MODEL, input: ["alpha", "shared words"] }),
      call(fleet.url, "/api/embed", { model: MODEL, input: ["shared words", "omega"] }),
    ]);
    await blockers;
    assert.deepEqual(
      merges.map((m) => [m.inputs, m.uniqueInputs]),
      [[4, 3]],
    );
    const xs = x.json.embeddings as number[][];
    const ys = y.json.embeddings as number[][];
    assert.deepEqual(xs[1], ys[0]);
    const alone = await call(fleet.emulators[0]!.url, "/api/embed", {
      model: MODEL,
      input: ["shared words", "omega"],
    });
    assert.equal(vectorBytes("/api/embed", y.text), vectorBytes("/api/embed", alone.text));
  });

  it("sends a lone request upstream at once and as it is, when nothing else is in flight", async () => {
    const t0 = Date.now();
    const res = await call(fleet.url, "/v1/embeddings", { model: MODEL, input: "alone" });
    const elapsedMs = Date.now() - t0;
    assert.equal(res.status, 200);
    assert.equal(await upstream("/v1/embeddings"), 1);
    assert.equal(await upstream("/api/embed"), 0);
    assert.equal(merges.length, 0);
    assert.ok(elapsedMs < 2000, `took ${elapsedMs} ms`);
  });

  it("fails only the member whose input Ollama rejects; the others still get their vectors", async () => {
    const settings = { truncate: false, options: { num_ctx: 256 } };
    const long = Array.from({ length: 300 }, (_, i) => `word${i}`).join(" ");
    const blockers = holdLanes(fleet.url, settings);
    await new Promise((r) => setTimeout(r, 5));
    const bodies = [
      { model: MODEL, input: "short one", ...settings },
      { model: MODEL, input: long, ...settings },
      { model: MODEL, input: ["short two"], ...settings },
    ];
    const got = await Promise.all(bodies.map((b) => call(fleet.url, "/api/embed", b)));
    assert.deepEqual(await blockers, [200, 200]);
    assert.deepEqual(
      got.map((g) => g.status),
      [200, 400, 200],
    );
    assert.deepEqual(
      merges.map((m) => m.outcome),
      ["fallback"],
    );
    for (const [i, body] of bodies.entries()) {
      const alone = await call(fleet.emulators[0]!.url, "/api/embed", body);
      if (alone.status === 200)
        assert.equal(vectorBytes("/api/embed", got[i]!.text), vectorBytes("/api/embed", alone.text));
      else assert.equal(got[i]!.text, alone.text, "Ollama's own error, untouched");
    }
  });

  it("drops a client that leaves while waiting, and still answers the others of its batch", async () => {
    const blockers = holdLanes(fleet.url);
    await new Promise((r) => setTimeout(r, 5));
    const leaving = new AbortController();
    const gone = call(fleet.url, "/api/embed", { model: MODEL, input: "I will leave" }, leaving.signal).catch(
      (err: Error) => err,
    );
    const stay = [
      call(fleet.url, "/api/embed", { model: MODEL, input: "I stay" }),
      call(fleet.url, "/v1/embeddings", { model: MODEL, input: "me too" }),
    ];
    await new Promise((r) => setTimeout(r, 5));
    leaving.abort();
    assert.ok((await gone) instanceof Error);
    const answers = await Promise.all(stay);
    await blockers;
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200],
    );
    assert.deepEqual(
      merges.map((m) => [m.members, m.inputs]),
      [[2, 2]],
    );
  });

  it("never merges the legacy /api/embeddings, whose vectors Ollama does not normalise", async () => {
    const prompts = ["legacy one", "legacy two", "legacy three"];
    const got = await Promise.all(
      prompts.map((prompt) => call(fleet.url, "/api/embeddings", { model: MODEL, prompt })),
    );
    assert.ok(got.every((g) => g.status === 200));
    assert.equal(await upstream("/api/embeddings"), 3);
    assert.equal(await upstream("/api/embed"), 0);
    const legacy = got[0]!.json.embedding as number[];
    const normalised = (await call(fleet.url, "/api/embed", { model: MODEL, input: "legacy one" })).json
      .embeddings as number[][];
    const norm = (v: number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm(normalised[0]!) - 1) < 1e-5);
    assert.ok(Math.abs(norm(legacy) - 1) > 1e-3, "a raw vector cannot be made from a normalised one");
  });

  it("shares one call between identical embedding requests in flight (coalescing)", async () => {
    const body = { model: MODEL, input: ["same", "request"] };
    const got = await Promise.all(Array.from({ length: 4 }, () => call(fleet.url, "/api/embed", body)));
    assert.equal(new Set(got.map((g) => g.text)).size, 1);
    assert.equal(await upstream("/api/embed"), 1);
  });
});

describe("embedding merging switched off", () => {
  let fleet: FleetFixture;
  before(async () => {
    fleet = await startFleet([EMULATOR], (c) => {
      c.loadBalancing.enableBatchProcessing = false;
    });
  });
  after(async () => fleet?.close());

  it("sends every embedding request upstream on its own when EnableBatchProcessing is false", async () => {
    const inputs = ["one", "two", "three", "four"];
    const got = await Promise.all(
      inputs.map((input) => call(fleet.url, "/api/embed", { model: MODEL, input })),
    );
    assert.ok(got.every((g) => g.status === 200));
    assert.equal((await fleet.emulators[0]!.stats()).requests.byEndpoint["/api/embed"], 4);
  });
});
