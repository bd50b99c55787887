/**
 * OpenTelemetry spans of proxied requests, exported to an in-memory exporter: the tree of a plain request,
 * of one that waited in the queue, of one that failed over mid-answer, a client's traceparent joined, and
 * sampling that turns tracing off.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { createTracing } from "../src/tracing/tracing-setup.js";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";
import {
  chatBody,
  MODEL,
  MODEL_ARGS,
  post,
  preloadEverywhere,
  quietGuards,
  readNdjson,
} from "./helpers/resilience.js";

/** The spans of one trace as a tree: the root and its children in start order. */
function treeOf(
  spans: readonly ReadableSpan[],
  traceId: string,
): { root: ReadableSpan; children: ReadableSpan[] } {
  const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
  const ids = new Set(inTrace.map((s) => s.spanContext().spanId));
  const roots = inTrace.filter((s) => !s.parentSpanContext || !ids.has(s.parentSpanContext.spanId));
  assert.equal(roots.length, 1, "one root per request");
  const root = roots[0]!;
  const children = inTrace
    .filter((s) => s.parentSpanContext?.spanId === root.spanContext().spanId)
    .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
  assert.equal(children.length, inTrace.length - 1, "every other span is a direct child of the root");
  return { root, children };
}

/** The root span of the request with this X-Request-Id. */
function rootOf(spans: readonly ReadableSpan[], requestId: string): ReadableSpan {
  const root = spans.find((s) => s.attributes["ollama_fleet.request_id"] === requestId);
  assert.ok(root, `no span for request ${requestId}`);
  return root;
}

describe("request spans", () => {
  const exporter = new InMemorySpanExporter();
  let fleet: FleetFixture;
  before(async () => {
    fleet = await startFleet(
      [{ args: MODEL_ARGS }, { args: MODEL_ARGS }],
      (c) => {
        quietGuards(c);
        for (const i of c.instances) i.maxConcurrentRequests = 1;
      },
      { traceExporter: exporter },
    );
    await preloadEverywhere(fleet);
  });
  beforeEach(async () => {
    exporter.reset();
    await Promise.all(fleet.emulators.map((e) => e.clearFaults()));
  });
  after(async () => fleet?.close());

  it("makes one server span with a route and an upstream child, and marks the first token", async () => {
    const res = await post(fleet.url, "/api/chat", chatBody("hello", 6), {
      headers: { "x-request-id": "plain-1" },
    });
    const answer = await readNdjson(res);
    const { root, children } = treeOf(
      exporter.getFinishedSpans(),
      rootOf(exporter.getFinishedSpans(), "plain-1").spanContext().traceId,
    );
    assert.equal(root.name, `chat ${MODEL}`);
    assert.equal(root.kind, SpanKind.SERVER);
    assert.equal(root.attributes["gen_ai.request.model"], MODEL);
    assert.equal(root.attributes["http.response.status_code"], 200);
    assert.equal(root.attributes["ollama_fleet.outcome"], "ok");
    assert.equal(root.attributes["ollama_fleet.instance"], answer.instance);
    assert.equal(root.attributes["gen_ai.usage.output_tokens"], 6);
    assert.equal(root.status.code, SpanStatusCode.UNSET);
    assert.deepEqual(
      children.map((s) => s.name),
      ["route", "upstream"],
    );
    const [route, upstream] = children as [ReadableSpan, ReadableSpan];
    assert.equal(route.attributes["ollama_fleet.route.strategy"], "WeightedRoundRobin");
    assert.equal(route.attributes["ollama_fleet.route.candidates"], 2);
    assert.equal(route.attributes["ollama_fleet.route.eligible"], 2);
    assert.equal(route.attributes["ollama_fleet.route.chosen_instance"], answer.instance);
    assert.equal(route.attributes["ollama_fleet.route.residency"], "hot");
    assert.equal(route.attributes["ollama_fleet.route.reason"], "model loaded on the instance");
    assert.equal(upstream.kind, SpanKind.CLIENT);
    assert.equal(upstream.attributes["ollama_fleet.instance"], answer.instance);
    assert.equal(upstream.attributes["ollama_fleet.attempt.kind"], "first");
    const firstToken = upstream.events.find((e) => e.name === "first_token");
    assert.ok(firstToken, "the upstream span marks its first token");
    const ns = (t: [number, number]): number => t[0] * 1e9 + t[1];
    assert.ok(ns(firstToken.time) >= ns(upstream.startTime) && ns(firstToken.time) <= ns(upstream.endTime));
    assert.ok(root.events.some((e) => e.name === "first_token"));
  });

  it("adds a queue-wait span when every instance was full", async () => {
    // One slot per instance: three concurrent requests, so one waits for a slot.
    const ids = ["q-1", "q-2", "q-3"];
    await Promise.all(fleet.emulators.map((e) => e.fault({ kind: "slow", factor: 50 })));
    await Promise.all(
      ids.map(async (id) =>
        (
          await post(fleet.url, "/api/chat", chatBody(`queue ${id}`, 30, { stream: false }), {
            headers: { "x-request-id": id },
          })
        ).text(),
      ),
    );
    const spans = exporter.getFinishedSpans();
    const waited = ids
      .map((id) => treeOf(spans, rootOf(spans, id).spanContext().traceId))
      .filter((t) => t.children.some((c) => c.name === "queue wait"));
    assert.ok(waited.length >= 1, "at least one request waited");
    const { root, children } = waited[0]!;
    assert.deepEqual(
      children.map((s) => s.name),
      ["queue wait", "route", "upstream"],
    );
    assert.equal(children[0]!.attributes["ollama_fleet.queue.admitted"], true);
    assert.ok(Number(root.attributes["ollama_fleet.queue_wait_ms"]) > 0);
  });

  it("shows a failover: the broken attempt in error, a second route, then an upstream failover span", async () => {
    const faulty = fleet.emulators[0]!;
    const faultyId = fleet.gateway.fleet.instances()[0]!.id;
    await faulty.fault({ kind: "reset", afterTokens: 4, count: 1 });
    let requestId = "";
    for (let n = 0; n < 30 && (await faulty.stats()).faults.length > 0; n++) {
      requestId = `failover-${n}`;
      const answer = await readNdjson(
        await post(fleet.url, "/api/chat", chatBody(`story ${n}`, 20), {
          headers: { "x-request-id": requestId },
        }),
      );
      assert.equal(answer.last?.done, true);
    }
    assert.equal((await faulty.stats()).faults.length, 0, "the fault was met");
    const spans = exporter.getFinishedSpans();
    const { root, children } = treeOf(spans, rootOf(spans, requestId).spanContext().traceId);
    assert.deepEqual(
      children.map((s) => s.name),
      ["route", "upstream", "route", "upstream failover"],
    );
    const [route1, broken, route2, failover] = children as [
      ReadableSpan,
      ReadableSpan,
      ReadableSpan,
      ReadableSpan,
    ];
    assert.equal(route1.attributes["ollama_fleet.route.chosen_instance"], faultyId);
    assert.equal(broken.status.code, SpanStatusCode.ERROR);
    assert.match(String(broken.attributes["error.type"]), /reset|stream_reset/);
    assert.ok(
      broken.events.some((e) => e.name === "first_token"),
      "tokens had flowed before the cut",
    );
    assert.equal(route2.attributes["ollama_fleet.attempt"], 2);
    assert.notEqual(route2.attributes["ollama_fleet.route.chosen_instance"], faultyId);
    assert.equal(failover.attributes["ollama_fleet.attempt.kind"], "failover");
    assert.equal(failover.status.code, SpanStatusCode.UNSET);
    assert.equal(root.attributes["ollama_fleet.attempts"], 2);
    assert.equal(root.attributes["ollama_fleet.outcome"], "ok");
  });

  it("joins the client's trace when it sends a W3C traceparent", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const parentId = "b7ad6b7169203331";
    const res = await post(fleet.url, "/api/chat", chatBody("joined", 3, { stream: false }), {
      headers: { traceparent: `00-${traceId}-${parentId}-01`, "x-request-id": "joined-1" },
    });
    await res.text();
    const root = rootOf(exporter.getFinishedSpans(), "joined-1");
    assert.equal(root.spanContext().traceId, traceId);
    assert.equal(root.parentSpanContext?.spanId, parentId);
  });
});

describe("tracing setup", () => {
  it("is off (no tracer at all) with TracingExporter = none", () => {
    const settings = {
      tracingExporter: "none" as const,
      otlpEndpoint: "http://127.0.0.1:4318/v1/traces",
      tracingSampleRatio: 1,
      serviceName: "x",
    };
    assert.equal(createTracing({ settings, serviceVersion: "0" }), undefined);
  });

  it("records nothing at a sample ratio of 0, and names the service", async () => {
    const exporter = new InMemorySpanExporter();
    const base = {
      tracingExporter: "none" as const,
      otlpEndpoint: "http://127.0.0.1:4318/v1/traces",
      serviceName: "my-fleet",
    };
    const none = createTracing({
      settings: { ...base, tracingSampleRatio: 0 },
      serviceVersion: "1.2.3",
      exporter,
    })!;
    none.tracer.startSpan("dropped").end();
    const all = createTracing({
      settings: { ...base, tracingSampleRatio: 1 },
      serviceVersion: "1.2.3",
      exporter,
    })!;
    all.tracer.startSpan("kept").end();
    assert.deepEqual(
      exporter.getFinishedSpans().map((s) => s.name),
      ["kept"],
    );
    assert.equal(exporter.getFinishedSpans()[0]!.resource.attributes["service.name"], "my-fleet");
    await Promise.all([none.close(), all.close()]);
  });
});
