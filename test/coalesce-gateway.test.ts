/**
 * Request coalescing end to end on emulator processes: identical deterministic requests in flight
 * share one upstream call (counted by the emulator), late joiners get the whole stream, a leaver does
 * not cancel the others, the last leaver frees the slot, and nothing else is ever shared.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, beforeEach, describe, it } from "node:test";
import type { GatewayEvents } from "../src/http/gateway-events.js";
import { eventually, startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";
import {
  answerText,
  chatBody,
  directAnswer,
  MODEL_ARGS,
  post as postJson,
  preloadEverywhere,
  readNdjson,
  served,
  quietGuards,
} from "./helpers/resilience.js";

const MODEL = "llama3.2:1b";
type Json = Record<string, unknown>;

function chat(
  prompt: string,
  numPredict: number,
  extra: Json = {},
  options: Json = { temperature: 0 },
): Json {
  return {
    model: MODEL,
    messages: [{ role: "user", content: prompt }],
    options: { num_predict: numPredict, ...options },
    ...extra,
  };
}

function post(url: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body) });
}

/** Upstream calls the emulators received on one path since their last reset. */
async function upstreamCalls(fleet: FleetFixture, path: string): Promise<number> {
  const stats = await Promise.all(fleet.emulators.map((e) => e.stats()));
  return stats.reduce((n, s) => n + (s.requests.byEndpoint[path] ?? 0), 0);
}

/** A streamed request whose chunks the test reads as they come, and can drop at any time. */
function openStream(url: string, path: string, body: unknown) {
  const target = new URL(`${url}${path}`);
  let text = "";
  let firstData!: () => void;
  const gotData = new Promise<void>((r) => (firstData = r));
  const req = httpRequest({ host: target.hostname, port: target.port, path, method: "POST" });
  const done = new Promise<{ status: number; text: string; requestId: string }>((resolve, reject) => {
    req.on("response", (res) => {
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        text += d;
        firstData();
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, text, requestId: String(res.headers["x-request-id"]) }),
      );
      res.on("error", () => resolve({ status: -1, text, requestId: "" }));
    });
    req.on("error", (err) => ((err as { code?: string }).code === "ECONNRESET" ? undefined : reject(err)));
  });
  req.end(JSON.stringify(body));
  return { gotData, done, text: () => text, leave: () => req.destroy() };
}

describe("request coalescing", () => {
  let fleet: FleetFixture;
  const joins: GatewayEvents["request-coalesced"][] = [];
  before(async () => {
    // x5 time: about one token per millisecond, so a stream lasts long enough to join it late.
    fleet = await startFleet([
      { args: ["--models", "llama3.2:1b:1.3:1.2", "--parallel", "4", "--time-scale", "5"] },
    ]);
    fleet.gateway.events.on("request-coalesced", (e) => void joins.push(e));
    const warm = await post(fleet.url, "/api/generate", { model: MODEL, prompt: "", stream: false });
    assert.equal(warm.status, 200);
  });
  beforeEach(async () => {
    joins.length = 0;
    await Promise.all(fleet.emulators.map((e) => e.resetStats()));
  });
  after(async () => fleet?.close());

  it("serves N identical temperature-0 chats with exactly one upstream call, each client the whole answer", async () => {
    const body = chat("tell me about coalescing", 60, { stream: false });
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        post(fleet.url, "/api/chat", body).then(async (r) => ({ r, j: (await r.json()) as Json })),
      ),
    );
    assert.equal(await upstreamCalls(fleet, "/api/chat"), 1);
    assert.equal(joins.length, 5);
    const status = (await (await fetch(`${fleet.url}/fleet/status`)).json()) as {
      sharing: { coalescing: { enabled: boolean; sharedCalls: number; joins: number } };
    };
    assert.equal(status.sharing.coalescing.enabled, true);
    assert.ok(status.sharing.coalescing.sharedCalls >= 1 && status.sharing.coalescing.joins >= 5);
    const metrics = await (await fetch(`${fleet.url}/metrics`)).text();
    assert.match(metrics, /ollama_fleet_coalesced_requests_total\{endpoint="chat",model="[^"]+"\} 5\n/);
    const ids = new Set(answers.map((a) => a.r.headers.get("x-request-id")));
    assert.equal(ids.size, 6, "each client keeps its own request id");
    const contents = answers.map((a) => (a.j.message as Json).content);
    assert.ok(answers.every((a) => a.r.status === 200 && a.j.done === true && a.j.eval_count === 60));
    assert.equal(new Set(contents).size, 1);
    // The shared answer is the one this request gets on its own.
    const alone = (await (await post(fleet.url, "/api/chat", body)).json()) as Json;
    assert.equal((alone.message as Json).content, contents[0]);
    assert.equal(await upstreamCalls(fleet, "/api/chat"), 2);
  });

  it("gives a client that joins a stream late every line from the first, then follows it live", async () => {
    const body = chat("a long story to join late", 300, {}, { seed: 11 });
    const first = openStream(fleet.url, "/api/chat", body);
    await first.gotData;
    await eventually(() => first.text().split("\n").length > 20);
    const late = openStream(fleet.url, "/api/chat", body);
    const [a, b] = await Promise.all([first.done, late.done]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(b.text, a.text, "byte for byte the same stream");
    const lines = b.text.trim().split("\n");
    assert.equal(lines.length, 301);
    assert.match(lines.at(-1) ?? "", /"done":true/);
    assert.equal(await upstreamCalls(fleet, "/api/chat"), 1);
    assert.equal(joins.length, 1);
    assert.ok((joins[0]?.replayedBytes ?? 0) > 0, "the late joiner got a replay");
    assert.notEqual(a.requestId, b.requestId);
  });

  it("keeps streaming to the others when one client leaves", async () => {
    const body = chat("leave early", 200, {}, { seed: 12 });
    const a = openStream(fleet.url, "/api/chat", body);
    const b = openStream(fleet.url, "/api/chat", body);
    await Promise.all([a.gotData, b.gotData]);
    a.leave();
    const rest = await b.done;
    const lines = rest.text.trim().split("\n");
    assert.equal(lines.length, 201);
    assert.match(lines.at(-1) ?? "", /"done":true/);
    const s = (await fleet.emulators[0]!.stats()) as { cancelled: number };
    assert.equal(s.cancelled, 0, "the upstream call was not cancelled");
    assert.equal(await upstreamCalls(fleet, "/api/chat"), 1);
  });

  it("aborts the upstream call when the last client leaves, freeing the instance's slot", async () => {
    const body = chat("everyone leaves", 100_000, {}, { seed: 13 });
    const a = openStream(fleet.url, "/api/chat", body);
    const b = openStream(fleet.url, "/api/chat", body);
    await Promise.all([a.gotData, b.gotData]);
    a.leave();
    b.leave();
    const emulator = fleet.emulators[0]!;
    await eventually(async () => {
      const s = await emulator.stats();
      return s.inFlight === 0 && s.cancelled === 1;
    });
    assert.equal(await upstreamCalls(fleet, "/api/chat"), 1);
    await eventually(() => fleet.gateway.fleet.instances()[0]!.inFlight === 0);
    assert.equal(fleet.gateway.fleet.instances()[0]!.health, "healthy");
  });

  it("never shares sampled requests: without temperature 0 or a seed every client gets its own call", async () => {
    const body = chat("sampled", 20, { stream: false }, {});
    const res = await Promise.all(Array.from({ length: 3 }, () => post(fleet.url, "/api/chat", body)));
    assert.ok(res.every((r) => r.status === 200));
    assert.equal(await upstreamCalls(fleet, "/api/chat"), 3);
    assert.equal(joins.length, 0);
  });

  it("does not share between endpoints: /api/chat and /v1/chat/completions frame answers differently", async () => {
    const messages = [{ role: "user", content: "two dialects" }];
    const [ollama, openai] = await Promise.all([
      post(fleet.url, "/api/chat", {
        model: MODEL,
        messages,
        stream: false,
        options: { temperature: 0, num_predict: 30 },
      }),
      post(fleet.url, "/v1/chat/completions", { model: MODEL, messages, temperature: 0, max_tokens: 30 }),
    ]);
    assert.equal(ollama.status, 200);
    assert.equal(openai.status, 200);
    assert.equal(((await openai.json()) as Json).object, "chat.completion");
    assert.equal(await upstreamCalls(fleet, "/api/chat"), 1);
    assert.equal(await upstreamCalls(fleet, "/v1/chat/completions"), 1);
  });

  it("shares identical OpenAI streams too, each client with its own complete SSE stream", async () => {
    const body = {
      model: MODEL,
      messages: [{ role: "user", content: "sse" }],
      seed: 5,
      max_tokens: 40,
      stream: true,
    };
    const streams = await Promise.all(
      Array.from({ length: 3 }, () => post(fleet.url, "/v1/chat/completions", body).then((r) => r.text())),
    );
    assert.equal(new Set(streams).size, 1);
    assert.match(streams[0] ?? "", /data: \[DONE\]\n\n$/);
    assert.equal(await upstreamCalls(fleet, "/v1/chat/completions"), 1);
  });
});

describe("request coalescing switched off", () => {
  let fleet: FleetFixture;
  before(async () => {
    fleet = await startFleet([{ args: ["--models", "llama3.2:1b:1.3:1.2", "--parallel", "4"] }], (c) => {
      c.gateway.enableRequestCoalescing = false;
    });
  });
  after(async () => fleet?.close());

  it("sends every identical request upstream when EnableRequestCoalescing is false", async () => {
    const body = chat("no sharing", 10, { stream: false });
    const res = await Promise.all(Array.from({ length: 3 }, () => post(fleet.url, "/api/chat", body)));
    assert.ok(res.every((r) => r.status === 200));
    assert.equal(await upstreamCalls(fleet, "/api/chat"), 3);
  });
});

describe("a coalesced call whose instance breaks mid-answer", () => {
  let fleet: FleetFixture;
  before(async () => {
    fleet = await startFleet([{ args: MODEL_ARGS }, { args: MODEL_ARGS }], (c) => {
      quietGuards(c);
    });
    await preloadEverywhere(fleet);
  });
  after(async () => fleet?.close());

  it("continues the shared stream on the other instance: every client gets the one whole answer", async () => {
    const faulty = fleet.emulators[0]!;
    await faulty.fault({ kind: "reset", afterTokens: 5, count: 1 });
    // The balancer spreads calls over both instances: repeat until one shared call met the fault.
    for (let n = 0; n < 30; n++) {
      const body = chatBody(`a shared story ${n}`, 40);
      const [a, b] = await Promise.all([
        postJson(fleet.url, "/api/chat", body).then(readNdjson),
        postJson(fleet.url, "/api/chat", body).then(readNdjson),
      ]);
      if ((await faulty.stats()).faults.length > 0) continue;
      const calls = (await Promise.all(fleet.emulators.map((e) => served(e)))).reduce((x, y) => x + y, 0);
      assert.equal(calls, n + 2, "one call per round of two clients, plus the faulted call's continuation");
      const reference = await directAnswer(fleet.emulators[1]!.url, "/api/chat", body);
      for (const answer of [a, b]) {
        assert.equal(answer.text, answerText(reference), "the one uninterrupted answer");
        assert.equal(answer.lines.length, 41);
        assert.equal(answer.last?.eval_count, 40);
      }
      return;
    }
    assert.fail("no shared call reached the faulty instance in 30 rounds");
  });
});
