/**
 * Active health checks and drain (issue 3 §3): an instance failing its checks turns unhealthy after
 * UnhealthyThreshold consecutive failures and healthy again after HealthyThreshold successes; a drained
 * instance finishes what it runs, takes nothing new, and is back after undrain.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { FleetEvents } from "../src/backend/fleet.js";
import type { GatewayEvents } from "../src/http/gateway-events.js";
import type { HealthStats } from "../src/health/health-tracker.js";
import { eventually, startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";
import {
  adminInstances,
  answerText,
  chatBody,
  directAnswer,
  metricValue,
  MODEL_ARGS,
  post,
  preloadEverywhere,
  readNdjson,
  served,
} from "./helpers/resilience.js";

const UNHEALTHY_THRESHOLD = 3;
const HEALTHY_THRESHOLD = 2;

/** One non-streamed chat through the gateway; returns the serving instance. */
async function chatVia(fleet: FleetFixture, n: number): Promise<string | null> {
  const res = await post(fleet.url, "/api/chat", chatBody(`q${n}`, 3, { stream: false }));
  const body = (await res.json()) as { done?: boolean };
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.done, true);
  return res.headers.get("x-ollama-fleet-instance");
}

describe("active health checks", () => {
  let fleet: FleetFixture;
  const transitions: (FleetEvents["instance-health"] & { detail: HealthStats })[] = [];
  before(async () => {
    fleet = await startFleet([{ args: MODEL_ARGS }, { args: MODEL_ARGS }], (c) => {
      c.loadBalancing.healthCheckIntervalSeconds = 0.1;
      c.loadBalancing.unhealthyThreshold = UNHEALTHY_THRESHOLD;
      c.loadBalancing.healthyThreshold = HEALTHY_THRESHOLD;
      c.gateway.inventoryRefreshSeconds = 3600; // only the active check probes the instances
    });
    await preloadEverywhere(fleet);
    fleet.gateway.fleet.events.on("instance-health", (e) =>
      transitions.push({ ...e, detail: fleet.gateway.fleet.get(e.id)!.healthTracker.stats() }),
    );
  });
  after(async () => fleet?.close());

  it("turns an instance unhealthy after exactly UnhealthyThreshold failed checks", async () => {
    const [sick] = fleet.gateway.fleet.instances();
    assert.equal(sick!.health, "healthy");
    await fleet.emulators[0]!.fault({ kind: "health-fail" });
    await eventually(() => sick!.health === "unhealthy", 5000);
    const t = transitions.filter((x) => x.id === sick!.id);
    assert.equal(t.length, 1, JSON.stringify(t));
    assert.equal(t[0]!.from, "healthy");
    assert.equal(t[0]!.to, "unhealthy");
    assert.equal(t[0]!.detail.consecutiveFailures, UNHEALTHY_THRESHOLD);
    assert.match(t[0]!.reason, /health check failed/);

    const listed = (await adminInstances(fleet)).instances.find((i) => i.id === sick!.id)!;
    assert.equal(listed.health, "unhealthy");
    assert.equal(listed.state, "unhealthy");
    assert.equal(await metricValue(fleet, "ollama_fleet_instance_up", { instance: sick!.id }), 0);
    assert.equal(
      await metricValue(fleet, "ollama_fleet_instance_state", { instance: sick!.id, state: "unhealthy" }),
      1,
    );
    assert.deepEqual(await (await fetch(`${fleet.url}/healthz`)).json(), {
      status: "ok",
      instances: 2,
      healthy: 1,
    });
  });

  it("sends no request to the unhealthy instance", async () => {
    const [sick, well] = fleet.gateway.fleet.instances();
    const before = await served(fleet.emulators[0]!);
    const instances = await Promise.all(Array.from({ length: 8 }, (_, n) => chatVia(fleet, n)));
    assert.deepEqual(new Set(instances), new Set([well!.id]));
    assert.equal(await served(fleet.emulators[0]!), before);
    assert.equal(sick!.health, "unhealthy");
  });

  it("turns it healthy again after exactly HealthyThreshold successful checks once the fault clears", async () => {
    const [sick] = fleet.gateway.fleet.instances();
    await fleet.emulators[0]!.clearFaults();
    await eventually(() => sick!.health === "healthy", 5000);
    const back = transitions.filter((x) => x.id === sick!.id).at(-1)!;
    assert.equal(back.from, "unhealthy");
    assert.equal(back.to, "healthy");
    assert.equal(back.detail.consecutiveSuccesses, HEALTHY_THRESHOLD);
    assert.equal(await metricValue(fleet, "ollama_fleet_instance_up", { instance: sick!.id }), 1);
    // And it takes requests again.
    let n = 0;
    while ((await chatVia(fleet, 100 + n)) !== sick!.id && n < 30) n++;
    assert.ok(n < 30, "no request reached the recovered instance in 30 tries");
  });
});

describe("draining an instance", () => {
  let fleet: FleetFixture;
  const failures: GatewayEvents["upstream-failure"][] = [];
  // x5: about a token per millisecond per sequence.
  const SLOW = [...MODEL_ARGS, "--parallel", "4", "--time-scale", "5"];
  before(async () => {
    fleet = await startFleet([{ args: SLOW }, { args: SLOW }], (c) => {
      c.gateway.inventoryRefreshSeconds = 3600;
      c.loadBalancing.healthCheckIntervalSeconds = 3600;
    });
    await preloadEverywhere(fleet);
    fleet.gateway.events.on("upstream-failure", (e) => void failures.push(e));
  });
  after(async () => fleet?.close());

  it("lets in-flight streams finish on a drained instance, sends it nothing new, and takes it back on undrain", async () => {
    const TOKENS = 300;
    // Both instances crawl (x10 slower) until the drain has been checked, so the streams are surely
    // still running then however busy this machine is; they finish at full speed afterwards.
    await Promise.all(fleet.emulators.map((e) => e.fault({ kind: "slow", factor: 10 })));
    const bodies = [0, 1, 2].map((n) => chatBody(`a drained stream ${n}`, TOKENS));
    const seen = bodies.map(() => 0);
    const heads: (string | null)[] = bodies.map(() => null);
    const streams = bodies.map((body, n) =>
      post(fleet.url, "/api/chat", body).then((res) => {
        heads[n] = res.headers.get("x-ollama-fleet-instance");
        return readNdjson(res, () => void seen[n]!++);
      }),
    );
    await eventually(() => seen.every((c) => c >= 3), 10_000);
    const drainedId = heads[0]!;
    const drainedIndex = fleet.gateway.fleet.instances().findIndex((i) => i.id === drainedId);
    const otherId = fleet.gateway.fleet.instances()[1 - drainedIndex]!.id;
    const drained = fleet.gateway.fleet.get(drainedId)!;
    const inFlightAtDrain = drained.inFlight;
    assert.ok(inFlightAtDrain >= 1);

    const res = await fetch(`${fleet.url}/fleet/instances/${drainedId}/drain`, { method: "POST" });
    assert.equal(res.status, 200);
    const stats = (await res.json()) as { draining: boolean; state: string };
    assert.equal(stats.draining, true);
    assert.equal(stats.state, "draining");
    assert.ok(
      seen.some((c, n) => heads[n] === drainedId && c < TOKENS),
      "a stream is still running on the drained instance",
    );

    const chatsBefore = await served(fleet.emulators[drainedIndex]!);
    const instances = await Promise.all(Array.from({ length: 8 }, (_, n) => chatVia(fleet, n)));
    assert.deepEqual(new Set(instances), new Set([otherId]), "every new request went to the other instance");
    assert.equal(
      await served(fleet.emulators[drainedIndex]!),
      chatsBefore,
      "the drained instance got nothing new",
    );
    assert.equal(
      await metricValue(fleet, "ollama_fleet_instance_state", { instance: drainedId, state: "draining" }),
      1,
    );

    await Promise.all(fleet.emulators.map((e) => e.clearFaults()));
    const answers = await Promise.all(streams);
    const references = await Promise.all(
      bodies.map((body) => directAnswer(fleet.emulators[1 - drainedIndex]!.url, "/api/chat", body)),
    );
    for (const [n, a] of answers.entries()) {
      assert.equal(a.last?.done, true, `stream ${n} ended without done:true`);
      assert.equal(a.last?.eval_count, TOKENS);
      assert.equal(a.text, answerText(references[n]!), `stream ${n} (on ${a.instance}): text`);
    }
    assert.deepEqual(failures, [], "in-flight requests finished where they ran: no failover");
    await eventually(() => drained.inFlight === 0);
    const listed = (await adminInstances(fleet)).instances.find((i) => i.id === drainedId)!;
    assert.equal(listed.draining, true);

    const undrain = await fetch(`${fleet.url}/fleet/instances/${drainedId}/undrain`, { method: "POST" });
    assert.equal(undrain.status, 200);
    assert.equal(((await undrain.json()) as { state: string }).state, "healthy");
    let n = 0;
    while ((await chatVia(fleet, 100 + n)) !== drainedId && n < 30) n++;
    assert.ok(n < 30, "no request reached the undrained instance in 30 tries");
  });
});
