/**
 * Overload (issue 3 §5, §6): each instance takes at most max_concurrent_requests, the rest waits in a
 * bounded queue; a full queue or a queue timeout answers 503 + Retry-After on /api (Ollama's words)
 * and 429 + Retry-After on /v1; high priority is served ahead of low; a queued client that leaves
 * leaves the queue at once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eventually, startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";
import {
  adminInstances,
  answerText,
  chatBody,
  metricValue,
  MODEL,
  MODEL_ARGS,
  openAiChatBody,
  percentile,
  post,
  preloadEverywhere,
  served,
} from "./helpers/resilience.js";

const PER_INSTANCE = 2;
const CAPACITY = 2 * PER_INSTANCE;
const QUEUE = 4;
const QUEUE_TIMEOUT_SECONDS = 3;

interface Outcome {
  status: number;
  retryAfter: string | null;
  body: Record<string, unknown>;
  ms: number;
}

async function send(
  fleet: FleetFixture,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Outcome> {
  const start = performance.now();
  const res = await post(fleet.url, path, body, { headers });
  const parsed = (await res.json()) as Record<string, unknown>;
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    body: parsed,
    ms: performance.now() - start,
  };
}

/** Records the deepest the admission queue got (from its own enqueue events) until `stop()`. */
function watchQueue(fleet: FleetFixture): { stop(): number } {
  let max = 0;
  const off = fleet.gateway.router.queue.events.on("enqueued", (e) => void (max = Math.max(max, e.depth)));
  return {
    stop() {
      off();
      return max;
    },
  };
}

describe("a fleet loaded at three times its capacity", () => {
  let fleet: FleetFixture;
  // x5 and parallel 2: about a token per millisecond per sequence.
  const ARGS = [...MODEL_ARGS, "--parallel", String(PER_INSTANCE), "--time-scale", "5"];
  before(async () => {
    fleet = await startFleet([{ args: ARGS }, { args: ARGS }], (c) => {
      for (const i of c.instances) i.maxConcurrentRequests = PER_INSTANCE;
      c.gateway.maxQueueSize = QUEUE;
      // Long enough for a queued request of the burst to wait out a wave even on a busy machine.
      c.gateway.queueTimeoutSeconds = QUEUE_TIMEOUT_SECONDS;
      c.gateway.inventoryRefreshSeconds = 3600;
      c.loadBalancing.healthCheckIntervalSeconds = 3600;
    });
    await preloadEverywhere(fleet);
  });
  after(async () => fleet?.close());

  /**
   * Sends 3x capacity at once. The instances crawl (x50 slower) until every request has arrived and been
   * placed, queued or refused, so the outcome does not depend on how fast this machine sends; then
   * they run at full speed to the end.
   */
  async function burst(
    path: string,
    bodyOf: (n: number) => unknown,
  ): Promise<{ outcomes: Outcome[]; maxDepth: number }> {
    await Promise.all(fleet.emulators.map((e) => e.fault({ kind: "slow", factor: 50 })));
    const refusedBefore = fleet.gateway.router.queueStats().rejectedTotal.queue_full;
    const watch = watchQueue(fleet);
    const pending = Array.from({ length: 3 * CAPACITY }, (_, n) => send(fleet, path, bodyOf(n)));
    const arrived = (): number =>
      fleet.gateway.fleet.instances().reduce((sum, i) => sum + i.inFlight, 0) +
      fleet.gateway.router.queueStats().depth +
      fleet.gateway.router.queueStats().rejectedTotal.queue_full -
      refusedBefore;
    await eventually(() => arrived() === 3 * CAPACITY, 10_000);
    await Promise.all(fleet.emulators.map((e) => e.clearFaults()));
    const outcomes = await Promise.all(pending);
    return { outcomes, maxDepth: watch.stop() };
  }

  it("answers the excess on /api with 503, Retry-After and Ollama's 'server busy', and serves the rest in full", async () => {
    const { outcomes, maxDepth } = await burst("/api/chat", (n) =>
      chatBody(`overload ${n}`, 100, { stream: false }),
    );
    const ok = outcomes.filter((o) => o.status === 200);
    const busy = outcomes.filter((o) => o.status !== 200);
    assert.equal(ok.length, CAPACITY + QUEUE, "the running and the queued requests are served");
    assert.equal(busy.length, 3 * CAPACITY - CAPACITY - QUEUE, "the rest is refused");
    for (const o of busy) {
      assert.equal(o.status, 503, JSON.stringify(o.body));
      assert.ok(Number(o.retryAfter) > 0, `Retry-After: ${o.retryAfter}`);
      assert.match(String(o.body.error), /^server busy, please try again\./);
    }
    for (const o of ok) {
      assert.equal(o.body.done, true);
      assert.equal(o.body.eval_count, 100);
    }
    assert.equal(maxDepth, QUEUE, "the queue filled up to its bound and no further");
    for (const e of fleet.emulators) {
      assert.ok((await e.stats()).maxConcurrency <= PER_INSTANCE, "an instance got more than its limit");
    }
    assert.equal((await adminInstances(fleet)).queue.rejectedTotal.queue_full, busy.length);
  });

  it("answers the excess on /v1 with 429, Retry-After and an OpenAI error", async () => {
    const { outcomes } = await burst("/v1/chat/completions", (n) =>
      openAiChatBody(`openai overload ${n}`, 100),
    );
    const refused = outcomes.filter((o) => o.status !== 200);
    assert.equal(refused.length, 3 * CAPACITY - CAPACITY - QUEUE);
    for (const o of refused) {
      assert.equal(o.status, 429, JSON.stringify(o.body));
      assert.ok(Number(o.retryAfter) > 0);
      const err = o.body.error as { message?: string; type?: string };
      assert.equal(typeof err.message, "string");
      assert.match(err.message!, /queue/);
    }
    for (const o of outcomes.filter((x) => x.status === 200)) assert.ok(answerText(o.body).length > 0);
  });

  describe("with every slot held by long streams", () => {
    const holders: AbortController[] = [];
    before(async () => {
      for (let n = 0; n < CAPACITY; n++) {
        const ac = new AbortController();
        holders.push(ac);
        const res = await post(fleet.url, "/api/chat", chatBody(`holder ${n}`, 100_000), {
          signal: ac.signal,
        });
        assert.equal(res.status, 200);
        // Keep reading, so the stream (and its slot) lives until the abort.
        void (async () => {
          for await (const _ of res.body as AsyncIterable<Uint8Array>) void _;
        })().catch(() => {});
      }
      await eventually(() => fleet.gateway.fleet.instances().every((i) => i.inFlight === PER_INSTANCE));
    });
    after(async () => {
      for (const ac of holders) ac.abort();
      await eventually(() => fleet.gateway.fleet.instances().every((i) => i.inFlight === 0));
    });

    it("answers 503 (/api) and 429 (/v1) with Retry-After when the queue timeout passes", async () => {
      const before = (await adminInstances(fleet)).queue.rejectedTotal.queue_timeout ?? 0;
      const [api, v1] = await Promise.all([
        send(fleet, "/api/generate", { model: MODEL, prompt: "late", stream: false }),
        send(fleet, "/v1/chat/completions", openAiChatBody("late", 5)),
      ]);
      assert.equal(api.status, 503);
      assert.ok(Number(api.retryAfter) > 0);
      assert.match(String(api.body.error), /^server busy, please try again\./);
      assert.equal(v1.status, 429);
      assert.ok(Number(v1.retryAfter) > 0);
      assert.equal((await adminInstances(fleet)).queue.rejectedTotal.queue_timeout, before + 2);
    });

    it("takes a queued client that disconnects out of the queue at once, and never sends it upstream", async () => {
      const upstreamBefore = await Promise.all(fleet.emulators.map((e) => served(e, "/api/generate")));
      const abortedBefore = (await adminInstances(fleet)).queue.rejectedTotal.aborted ?? 0;
      const ac = new AbortController();
      const leaving = post(
        fleet.url,
        "/api/generate",
        { model: MODEL, prompt: "leaving", stream: false },
        {
          signal: ac.signal,
          headers: { "x-priority": "low" },
        },
      ).catch((err: unknown) => err);
      await eventually(async () => (await adminInstances(fleet)).queue.depth === 1);
      const queued = await adminInstances(fleet);
      assert.deepEqual(queued.queue.byModel[MODEL], { high: 0, normal: 0, low: 1 });
      assert.equal(
        await metricValue(fleet, "ollama_fleet_queue_depth", { model: MODEL, priority: "low" }),
        1,
      );

      ac.abort();
      assert.ok((await leaving) instanceof Error, "the client saw its own abort");
      // Out long before the queue timeout could have removed it (the counters below tell which did).
      await eventually(() => fleet.gateway.router.queueStats().depth === 0, 1000);
      const after = await adminInstances(fleet);
      assert.equal(after.queue.rejectedTotal.aborted, abortedBefore + 1);
      assert.equal(after.queue.rejectedTotal.queue_timeout, queued.queue.rejectedTotal.queue_timeout);
      assert.deepEqual(
        await Promise.all(fleet.emulators.map((e) => served(e, "/api/generate"))),
        upstreamBefore,
      );
    });
  });
});

describe("priorities under the same overload", () => {
  let fleet: FleetFixture;
  // One slot per instance, a queue deep enough for the whole burst.
  // x5: a 60-token answer holds its slot for about 60 ms, long next to the HTTP overhead.
  const ARGS = [...MODEL_ARGS, "--parallel", "1", "--time-scale", "5"];
  before(async () => {
    fleet = await startFleet([{ args: ARGS }, { args: ARGS }], (c) => {
      for (const i of c.instances) i.maxConcurrentRequests = 1;
      c.gateway.maxQueueSize = 64;
      c.gateway.queueTimeoutSeconds = 30;
      c.gateway.inventoryRefreshSeconds = 3600;
      c.loadBalancing.healthCheckIntervalSeconds = 3600;
    });
    await preloadEverywhere(fleet);
  });
  after(async () => fleet?.close());

  it("serves X-Priority: high well ahead of low: high p99 under 0.7 x low p99, and low still served", async () => {
    // 32 requests on 2 slots, every fourth one high: 8 high, 24 low, interleaved as they arrive.
    const REQUESTS = 32;
    let sawBoth = false;
    const watching = (async () => {
      for (let n = 0; n < 400 && !sawBoth; n++) {
        const byModel = (await adminInstances(fleet)).queue.byModel[MODEL];
        if (byModel && byModel.high! > 0 && byModel.low! > 0) sawBoth = true;
        else await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const outcomes = await Promise.all(
      Array.from({ length: REQUESTS }, (_, n) => {
        const priority = n % 4 === 1 ? "high" : "low";
        return send(fleet, "/api/chat", chatBody(`priority ${n}`, 60, { stream: false }), {
          "x-priority": priority,
        }).then((o) => ({ ...o, priority }));
      }),
    );
    await watching;
    for (const o of outcomes) assert.equal(o.status, 200, JSON.stringify(o.body));
    const high = outcomes.filter((o) => o.priority === "high").map((o) => o.ms);
    const low = outcomes.filter((o) => o.priority === "low").map((o) => o.ms);
    const highP99 = percentile(high, 99);
    const lowP99 = percentile(low, 99);
    assert.ok(
      highP99 < 0.7 * lowP99,
      `high p99 ${highP99.toFixed(0)} ms vs low p99 ${lowP99.toFixed(0)} ms (ratio ${(highP99 / lowP99).toFixed(2)})`,
    );
    assert.ok(sawBoth, "the admin API showed high and low requests waiting in the queue");
  });
});
