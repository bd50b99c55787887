/**
 * kill -9 of an instance under load (issue 3 §6): no non-streamed request fails, and streams that had
 * started on the dead instance continue on another one as one uninterrupted stream whose text is the
 * same deterministic answer a healthy instance gives, with final statistics that add up.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { GatewayEvents } from "../src/http/gateway-events.js";
import { eventually, startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";
import {
  answerText,
  chatBody,
  directAnswer,
  generateBody,
  MODEL_ARGS,
  openAiChatBody,
  post,
  preloadEverywhere,
  readNdjson,
  readSse,
  type NdjsonAnswer,
} from "./helpers/resilience.js";

// x5: about a token per millisecond per sequence. 8 slots per instance: room for whole chats next to
// the streams wherever the streams land.
const SLOW_CLOCK = [...MODEL_ARGS, "--parallel", "8", "--time-scale", "5"];

describe("kill -9 of an instance under load", () => {
  let fleet: FleetFixture;
  const failures: GatewayEvents["upstream-failure"][] = [];
  const completed: GatewayEvents["request-completed"][] = [];
  before(async () => {
    fleet = await startFleet([{ args: SLOW_CLOCK }, { args: SLOW_CLOCK }, { args: SLOW_CLOCK }], (c) => {
      for (const i of c.instances) i.maxConcurrentRequests = 8;
      c.gateway.inventoryRefreshSeconds = 3600; // the gateway learns of the death from real requests
      c.loadBalancing.healthCheckIntervalSeconds = 3600;
    });
    await preloadEverywhere(fleet);
    fleet.gateway.events.on("upstream-failure", (e) => void failures.push(e));
    fleet.gateway.events.on("request-completed", (e) => void completed.push(e));
  });
  after(async () => fleet?.close());

  it("answers every non-streamed chat in full and continues every started stream elsewhere to done:true", async () => {
    const STREAM_TOKENS = 400;
    const CHAT_TOKENS = 60;
    const streamBodies = [
      ...Array.from({ length: 4 }, (_, n) => ({
        path: "/api/chat",
        body: chatBody(`stream chat ${n}`, STREAM_TOKENS),
      })),
      ...Array.from({ length: 2 }, (_, n) => ({
        path: "/api/generate",
        body: generateBody(`stream generate ${n}`, STREAM_TOKENS),
      })),
    ];
    // Every instance crawls (x10 slower) until the kill, so however busy this machine is, the streams
    // are still mid-answer and whole chats are in flight when it lands; the survivors speed up after.
    await Promise.all(fleet.emulators.map((e) => e.fault({ kind: "slow", factor: 10 })));
    const linesSeen = streamBodies.map(() => 0);
    const firstInstance: (string | null)[] = streamBodies.map(() => null);
    const streams = streamBodies.map(({ path, body }, n) =>
      post(fleet.url, path, body).then((res) => {
        firstInstance[n] = res.headers.get("x-ollama-fleet-instance");
        return readNdjson(res, () => void linesSeen[n]!++);
      }),
    );
    // A failed assertion below must not leave these rejecting unobserved after the fleet closed.
    for (const p of streams) p.catch(() => {});
    // Streams first, so they hold slots; then 30 whole chats that share the instances with them.
    await eventually(() => linesSeen.every((c) => c > 0), 10_000);
    const chats = Array.from({ length: 30 }, (_, n) =>
      post(fleet.url, "/api/chat", chatBody(`whole chat ${n}`, CHAT_TOKENS, { stream: false })).then(
        async (res) => ({ status: res.status, body: await res.text() }),
        (err: unknown) => ({ status: -1, body: String(err) }),
      ),
    );

    // Kill an instance as soon as it is both mid-stream and running whole chats.
    const ids = fleet.gateway.fleet.instances().map((i) => i.id);
    const running = (id: string): number[] =>
      firstInstance
        .map((f, n) => (f === id && linesSeen[n]! >= 1 && linesSeen[n]! < STREAM_TOKENS ? n : -1))
        .filter((n) => n >= 0);
    const loaded = (id: string): boolean =>
      running(id).length > 0 && fleet.gateway.fleet.get(id)!.inFlight > running(id).length;
    await eventually(() => ids.some(loaded), 15_000);
    const victimIndex = ids.findIndex(loaded);
    const victimId = ids[victimIndex]!;
    const cutMidAnswer = running(victimId);
    fleet.emulators[victimIndex]!.proc.kill("SIGKILL");
    await Promise.all(fleet.emulators.filter((_, i) => i !== victimIndex).map((e) => e.clearFaults()));

    const streamed: NdjsonAnswer[] = await Promise.all(streams);
    const whole = await Promise.all(chats);
    const healthy = fleet.emulators.filter((_, i) => i !== victimIndex);
    const references = await Promise.all([
      ...streamBodies.map(({ path, body }, n) => directAnswer(healthy[n % 2]!.url, path, body)),
      ...whole.map((_, n) =>
        directAnswer(healthy[n % 2]!.url, "/api/chat", chatBody(`whole chat ${n}`, CHAT_TOKENS)),
      ),
    ]);

    // Some stream really was mid-answer on the victim, and some whole chat was in flight there.
    assert.ok(cutMidAnswer.length > 0, `no stream was mid-answer on the killed instance ${victimId}`);
    const wholeIds = new Set(completed.filter((c) => !c.stream).map((c) => c.requestId));
    assert.ok(
      failures.some((f) => f.instanceId === victimId && f.willRetry && wholeIds.has(f.requestId)),
      "no non-streamed request was cut on the killed instance",
    );

    for (const [n, s] of streamed.entries()) {
      const { path } = streamBodies[n]!;
      assert.equal(
        s.last?.done,
        true,
        `stream ${n} (${path}, first on ${s.instance}) did not end with done:true`,
      );
      assert.equal(s.last?.eval_count, STREAM_TOKENS, `stream ${n}: final eval_count`);
      assert.ok(
        s.lines.slice(0, -1).every((l) => l.done === false),
        `stream ${n}: done:true before the end`,
      );
      assert.ok(
        s.lines.every((l) => !("error" in l)),
        `stream ${n} carries an error line`,
      );
      assert.equal(
        s.text,
        answerText(references[n]!),
        `stream ${n} (${path}): text differs from the reference`,
      );
    }

    for (const [n, w] of whole.entries()) {
      assert.equal(w.status, 200, `whole chat ${n} answered ${w.status}: ${w.body}`);
      const answer = JSON.parse(w.body) as Record<string, unknown>;
      assert.equal(answer.done, true);
      assert.equal(answer.eval_count, CHAT_TOKENS, `whole chat ${n}: eval_count`);
      const reference = references[streamBodies.length + n]!;
      assert.equal(
        answerText(answer),
        answerText(reference),
        `whole chat ${n}: text differs from the reference`,
      );
    }
    // Nothing is left hanging on any instance.
    await eventually(() => fleet.gateway.fleet.instances().every((i) => i.inFlight === 0));
  });
});

describe("kill -9 during an OpenAI chat completion stream", () => {
  let fleet: FleetFixture;
  before(async () => {
    fleet = await startFleet([{ args: SLOW_CLOCK }, { args: SLOW_CLOCK }], (c) => {
      c.gateway.inventoryRefreshSeconds = 3600;
      c.loadBalancing.healthCheckIntervalSeconds = 3600;
    });
  });
  after(async () => fleet?.close());

  it("continues the SSE stream on the other instance with one id, full text and data: [DONE]", async () => {
    const MAX_TOKENS = 300;
    const body = openAiChatBody("an openai stream", MAX_TOKENS, {
      stream: true,
      stream_options: { include_usage: true },
    });
    let victimKilled = false;
    const ids = fleet.gateway.fleet.instances().map((i) => i.id);
    const res = await post(fleet.url, "/v1/chat/completions", body);
    const victimIndex = ids.indexOf(res.headers.get("x-ollama-fleet-instance") ?? "");
    assert.ok(victimIndex >= 0, "the stream names the instance serving it");
    const answer = await readSse(res, (_, n) => {
      if (n === 5 && !victimKilled) {
        victimKilled = true;
        fleet.emulators[victimIndex]!.proc.kill("SIGKILL");
      }
    });
    assert.ok(victimKilled, "the stream ended before the kill");
    assert.equal(answer.endedWithDone, true, "the stream must end with data: [DONE]");
    const streamIds = new Set(answer.events.map((e) => e.id));
    assert.equal(streamIds.size, 1, `one id for the whole stream, got ${[...streamIds].join(", ")}`);
    const finish = answer.events
      .map((e) => (e.choices as { finish_reason?: string | null }[] | undefined)?.[0]?.finish_reason)
      .filter((f) => typeof f === "string");
    assert.deepEqual(finish, ["length"], "exactly one finish_reason, at the end");
    const usage = answer.events.find((e) => e.usage)?.usage as { completion_tokens?: number } | undefined;
    assert.equal(usage?.completion_tokens, MAX_TOKENS, "usage counts the tokens of both instances");

    const healthy = fleet.emulators[1 - victimIndex]!;
    const reference = await directAnswer(
      healthy.url,
      "/v1/chat/completions",
      openAiChatBody("an openai stream", MAX_TOKENS),
    );
    assert.equal(answer.text, answerText(reference));
  });
});
