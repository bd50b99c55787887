/**
 * Mid-stream failover on a socket reset (issue 3 §4): the generation continues on the other instance
 * and the client sees one uninterrupted stream whose final statistics add up; an answer that cannot be
 * resumed (format) ends with one clean error line in the stream's framing, never a torn one.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import type { GatewayEvents } from "../src/http/gateway-events.js";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";
import {
  answerText,
  chatBody,
  directAnswer,
  generateBody,
  MODEL,
  MODEL_ARGS,
  openAiChatBody,
  post,
  preloadEverywhere,
  readNdjson,
  readSse,
  quietGuards,
} from "./helpers/resilience.js";

type FaultKind = "reset" | "malformed" | "error500" | "hang";

describe("a stream cut mid-answer by the instance", () => {
  let fleet: FleetFixture;
  let failures: GatewayEvents["upstream-failure"][] = [];
  before(async () => {
    fleet = await startFleet([{ args: MODEL_ARGS }, { args: MODEL_ARGS }], (c) => {
      // This file is about continuation: keep health and breaker out of the way of the repeated faults.
      quietGuards(c);
      c.gateway.stallTimeoutSeconds = 0.5;
    });
    await preloadEverywhere(fleet);
    fleet.gateway.events.on("upstream-failure", (e) => void failures.push(e));
  });
  beforeEach(async () => {
    failures = [];
    await Promise.all(fleet.emulators.map((e) => e.clearFaults()));
    await Promise.all(fleet.emulators.map((e) => e.resetStats()));
  });
  after(async () => fleet?.close());

  /**
   * Arms a one-shot fault on the first emulator and sends `send()` until a request lands there (the
   * balancer spreads requests over both; a request served by the other one is simply complete).
   * Returns the result of the request that met the fault.
   */
  async function untilFaulted<T>(kind: FaultKind, afterTokens: number, send: () => Promise<T>): Promise<T> {
    const faulty = fleet.emulators[0]!;
    await faulty.fault({ kind, afterTokens, count: 1 });
    for (let n = 0; n < 30; n++) {
      const result = await send();
      if ((await faulty.stats()).faults.length === 0) return result;
    }
    assert.fail("no request reached the faulty instance in 30 tries");
  }

  const whole = async (body: unknown): Promise<{ res: Response; text: string }> => {
    const res = await post(fleet.url, "/api/chat", body);
    return { res, text: await res.text() };
  };

  const faultyId = (): string => fleet.gateway.fleet.instances()[0]!.id;

  it("continues a streamed /api/chat reset after 5 tokens on the other instance, one stream to done:true", async () => {
    const body = chatBody("tell me a long story", 40);
    const answer = await untilFaulted("reset", 5, async () =>
      readNdjson(await post(fleet.url, "/api/chat", body)),
    );
    assert.equal(answer.instance, faultyId(), "the stream began on the faulty instance");
    assert.ok(failures.some((f) => f.instanceId === faultyId() && f.kind !== "busy" && f.willRetry));
    assert.equal(answer.lines.filter((l) => l.done === true).length, 1, "exactly one final object");
    assert.equal(answer.last?.done, true);
    assert.equal(answer.last?.eval_count, 40, "eval_count adds both instances' tokens up to num_predict");
    assert.equal(answer.lines.length, 41, "40 token chunks and the final one");
    for (const line of answer.lines) {
      assert.equal(line.model, "llama3.2:1b");
      assert.equal((line.message as { role?: string }).role, "assistant");
    }
    const reference = await directAnswer(fleet.emulators[1]!.url, "/api/chat", body);
    assert.equal(answer.text, answerText(reference), "the text is the one uninterrupted answer");
  });

  it("continues a streamed /api/generate reset after 5 tokens as generate chunks to done:true", async () => {
    const body = generateBody("write a poem", 40);
    const answer = await untilFaulted("reset", 5, async () =>
      readNdjson(await post(fleet.url, "/api/generate", body)),
    );
    assert.equal(answer.instance, faultyId());
    assert.equal(answer.last?.done, true);
    assert.equal(answer.last?.eval_count, 40);
    assert.equal(answer.lines.length, 41);
    for (const line of answer.lines) {
      assert.equal(typeof line.response, "string", "every chunk is a generate chunk");
      assert.equal("message" in line, false, "no chat chunk leaks into a generate stream");
    }
    const reference = await directAnswer(fleet.emulators[1]!.url, "/api/generate", body);
    assert.equal(answer.text, answerText(reference));
  });

  it("reports the client's own prompt_eval_count after a cut-over, not the continuation's prompt plus partial answer", async () => {
    const body = chatBody("count my prompt", 40);
    const answer = await untilFaulted("reset", 5, async () =>
      readNdjson(await post(fleet.url, "/api/chat", body)),
    );
    assert.equal(answer.instance, faultyId());
    const reference = await directAnswer(fleet.emulators[1]!.url, "/api/chat", body);
    assert.equal(answer.last?.eval_count, reference.eval_count);
    assert.equal(
      answer.last?.prompt_eval_count,
      reference.prompt_eval_count,
      "prompt_eval_count counts the client's prompt once; the 5 resent answer tokens are not prompt",
    );
  });

  for (const kind of ["malformed", "error500"] as const) {
    const what = kind === "malformed" ? "a malformed line" : "an error line";
    it(`hides ${what} sent after 5 tokens and continues the chat elsewhere without losing those tokens`, async () => {
      const body = chatBody(`a story with ${kind}`, 30);
      const answer = await untilFaulted(kind, 5, async () =>
        readNdjson(await post(fleet.url, "/api/chat", body)),
      );
      const reference = await directAnswer(fleet.emulators[1]!.url, "/api/chat", body);
      assert.equal(answer.text, answerText(reference), "the client's text must be the whole answer");
      assert.equal(answer.lines.length, 31, "30 token chunks and the final one");
      assert.equal(answer.instance, faultyId(), "the stream began on the faulty instance");
      assert.equal(answer.last?.done, true);
      assert.equal(answer.last?.eval_count, 30);
    });
  }

  it("continues an OpenAI chat stream reset after 5 tokens with one id and data: [DONE]", async () => {
    const body = openAiChatBody("an openai story", 30, { stream: true });
    const answer = await untilFaulted("reset", 5, async () =>
      readSse(await post(fleet.url, "/v1/chat/completions", body)),
    );
    assert.equal(answer.instance, faultyId());
    assert.equal(answer.endedWithDone, true);
    assert.equal(new Set(answer.events.map((e) => e.id)).size, 1, "one id across both instances");
    const reference = await directAnswer(fleet.emulators[1]!.url, "/v1/chat/completions", {
      ...body,
      stream: false,
    });
    assert.equal(answer.text, answerText(reference));
  });

  it("answers a non-streamed chat cut after 5 tokens with the whole answer", async () => {
    const body = chatBody("a whole answer", 30, { stream: false });
    const { res, text } = await untilFaulted("reset", 5, () => whole(body));
    assert.equal(res.status, 200, text);
    const answer = JSON.parse(text) as Record<string, unknown>;
    assert.equal(answer.done, true);
    assert.equal(answer.eval_count, 30);
    const reference = await directAnswer(fleet.emulators[1]!.url, "/api/chat", body);
    assert.equal(answerText(answer), answerText(reference));
  });

  it("continues a non-streamed chat whose instance stalls after 5 tokens, caught by the stall timeout", async () => {
    const body = chatBody("a stalled answer", 30, { stream: false });
    const { res, text } = await untilFaulted("hang", 5, () => whole(body));
    assert.equal(res.status, 200, text);
    const answer = JSON.parse(text) as Record<string, unknown>;
    assert.equal(answer.eval_count, 30);
    assert.ok(
      failures.some((f) => f.instanceId === faultyId() && f.kind === "timeout"),
      `failures: ${JSON.stringify(failures)}`,
    );
    const reference = await directAnswer(fleet.emulators[1]!.url, "/api/chat", body);
    assert.equal(answerText(answer), answerText(reference));
  });

  it("ends a streamed format:json chat cut mid-answer with one clean error line", async () => {
    const body = chatBody("a json answer", 30, { format: "json" });
    const answer = await untilFaulted("reset", 5, async () =>
      readNdjson(await post(fleet.url, "/api/chat", body)),
    );
    assert.equal(answer.instance, faultyId());
    // readNdjson already failed the test on any torn line; the 5 tokens, then the error, nothing else.
    assert.equal(answer.lines.length, 6, `lines: ${JSON.stringify(answer.lines)}`);
    assert.ok(answer.lines.slice(0, 5).every((l) => l.done === false));
    const last = answer.last!;
    assert.deepEqual(Object.keys(last), ["error"]);
    assert.match(String(last.error), /cannot be resumed|format/);
    assert.ok(
      answer.lines.every((l) => l.done !== true),
      "no done:true after a failed generation",
    );
  });

  it("ends a streamed format:json generate cut mid-answer with one clean error line", async () => {
    const body = generateBody("a json generate", 30, { format: "json" });
    const answer = await untilFaulted("reset", 5, async () =>
      readNdjson(await post(fleet.url, "/api/generate", body)),
    );
    assert.equal(answer.instance, faultyId());
    assert.equal(answer.lines.length, 6);
    assert.deepEqual(Object.keys(answer.last!), ["error"]);
  });

  it("answers a non-streamed format:json chat cut mid-answer in full from the other instance, since the client got nothing yet", async () => {
    const body = chatBody("a json whole answer", 200, { format: "json", stream: false });
    const { res, text } = await untilFaulted("reset", 5, () => whole(body));
    const answer = JSON.parse(text) as Record<string, unknown>;
    assert.equal(
      answer.error,
      undefined,
      `status ${res.status} with an error instead of the answer: ${text}`,
    );
    assert.equal(res.status, 200, text);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    assert.equal(answer.done, true);
    const reference = await directAnswer(fleet.emulators[1]!.url, "/api/chat", body);
    assert.equal(answerText(answer), answerText(reference));
    assert.doesNotThrow(() => JSON.parse(answerText(answer)), "the answer is the JSON document asked for");
  });

  it("ends a streamed /v1/completions cut mid-answer with one clean SSE error event and no [DONE]", async () => {
    const body = { model: MODEL, prompt: "complete this", max_tokens: 30, seed: 7, stream: true };
    const answer = await untilFaulted("reset", 5, async () =>
      readSse(await post(fleet.url, "/v1/completions", body)),
    );
    assert.equal(answer.instance, faultyId());
    assert.equal(answer.endedWithDone, false, "a failed completion does not claim [DONE]");
    assert.equal(answer.events.length, 6, "5 token events, then the error");
    const err = answer.events.at(-1)!.error as { message?: string; type?: string } | undefined;
    assert.equal(typeof err?.message, "string");
    assert.match(err!.message!, /cannot be resumed/);
  });

  it("answers a non-streamed /v1/completions cut mid-answer in full, since the client got nothing yet", async () => {
    const body = { model: MODEL, prompt: "complete this whole", max_tokens: 30, seed: 7 };
    const { res, text } = await untilFaulted("reset", 5, async () => {
      const r = await post(fleet.url, "/v1/completions", body);
      return { res: r, text: await r.text() };
    });
    const answer = JSON.parse(text) as { error?: unknown; choices?: { text?: string }[] };
    assert.equal(
      answer.error,
      undefined,
      `status ${res.status} with an error instead of the answer: ${text}`,
    );
    assert.equal(res.status, 200);
    const reference = (await (await post(fleet.emulators[1]!.url, "/v1/completions", body)).json()) as {
      choices: { text: string }[];
    };
    assert.equal(answer.choices?.[0]?.text, reference.choices[0]!.text);
  });
});
