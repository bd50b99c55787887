/**
 * Circuit breakers end to end (issue 3 §3, §4): a hanging instance is caught by the first-token
 * timeout, its breaker opens after CircuitBreakerThreshold failures and traffic moves; after
 * CircuitBreakerResetSeconds one trial closes it again. A busy (503) backend is retried elsewhere
 * without blaming it; a 500-ing one opens its breaker.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eventually, startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";
import {
  adminInstances,
  chatBody,
  metricValue,
  MODEL_ARGS,
  post,
  preloadEverywhere,
  served,
} from "./helpers/resilience.js";

const THRESHOLD = 2;
/** Long enough that the "while open" checks finish before the breaker half-opens, even on a busy machine. */
const RESET_SECONDS = 3;

/** One non-streamed chat through the gateway: status, serving instance and body. */
async function chat(
  fleet: FleetFixture,
  n: number,
): Promise<{
  status: number;
  instance: string | null;
  body: Record<string, unknown>;
  retryAfter: string | null;
}> {
  const res = await post(fleet.url, "/api/chat", chatBody(`question ${n}`, 3, { stream: false }));
  return {
    status: res.status,
    instance: res.headers.get("x-ollama-fleet-instance"),
    retryAfter: res.headers.get("retry-after"),
    body: (await res.json()) as Record<string, unknown>,
  };
}

describe("a hanging instance behind a circuit breaker", () => {
  let fleet: FleetFixture;
  before(async () => {
    fleet = await startFleet([{ args: MODEL_ARGS }, { args: MODEL_ARGS }], (c) => {
      c.loadBalancing.circuitBreakerThreshold = THRESHOLD;
      c.loadBalancing.circuitBreakerResetSeconds = RESET_SECONDS;
      c.gateway.firstTokenTimeoutSeconds = 1;
      c.gateway.stallTimeoutSeconds = 1;
      // Only the breaker may take the instance out here: health stays out of the way.
      c.loadBalancing.unhealthyThreshold = 100;
      c.loadBalancing.healthCheckIntervalSeconds = 3600;
      c.gateway.inventoryRefreshSeconds = 3600;
    });
    await preloadEverywhere(fleet);
  });
  after(async () => fleet?.close());

  it("opens the breaker after exactly CircuitBreakerThreshold timed-out requests, each retried to a 200", async () => {
    const [hung, healthy] = fleet.gateway.fleet.instances();
    await fleet.emulators[0]!.fault({ kind: "hang" });
    let sent = 0;
    while (hung!.breaker.state !== "open" && sent < 40) {
      const r = await chat(fleet, sent++);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.instance, healthy!.id, "every answer comes from the instance that answers");
      assert.equal(r.body.done, true);
    }
    assert.equal(hung!.breaker.state, "open", `still closed after ${sent} requests`);
    // Each hung request reached the emulator once and was never retried there.
    assert.equal(await served(fleet.emulators[0]!), THRESHOLD);
    const listed = (await adminInstances(fleet)).instances.find((i) => i.id === hung!.id)!;
    assert.equal(listed.breaker, "open");
    assert.equal(listed.state, "open");
    assert.equal(listed.breakerDetail.opens, 1);
    assert.equal(listed.breakerDetail.consecutiveFailures, THRESHOLD);
    assert.equal(listed.health, "healthy", "the breaker, not health, took it out");
    assert.equal(await metricValue(fleet, "ollama_fleet_instance_breaker_open", { instance: hung!.id }), 1);
    assert.equal(
      await metricValue(fleet, "ollama_fleet_instance_breaker_open", { instance: healthy!.id }),
      0,
    );
    assert.equal(
      await metricValue(fleet, "ollama_fleet_breaker_transitions_total", { instance: hung!.id, to: "open" }),
      1,
    );
    assert.equal(
      await metricValue(fleet, "ollama_fleet_instance_state", { instance: hung!.id, state: "open" }),
      1,
    );
  });

  it("sends nothing to the open instance while its breaker is open", async () => {
    const [hung, healthy] = fleet.gateway.fleet.instances();
    const before = await served(fleet.emulators[0]!);
    const answers = await Promise.all(Array.from({ length: 12 }, (_, n) => chat(fleet, 100 + n)));
    for (const r of answers) {
      assert.equal(r.status, 200);
      assert.equal(r.instance, healthy!.id);
    }
    assert.equal(await served(fleet.emulators[0]!), before, "no request reached the open instance");
    assert.equal(hung!.breaker.state, "open", "the reset time has not passed yet");
  });

  it("half-opens after CircuitBreakerResetSeconds and closes on a single successful trial", async () => {
    const [recovered] = fleet.gateway.fleet.instances();
    await fleet.emulators[0]!.clearFaults();
    await eventually(() => recovered!.breaker.state === "half-open", (RESET_SECONDS + 2) * 1000);
    const listed = (await adminInstances(fleet)).instances.find((i) => i.id === recovered!.id)!;
    assert.equal(listed.breaker, "half-open");
    assert.equal(
      await metricValue(fleet, "ollama_fleet_instance_breaker_open", { instance: recovered!.id }),
      0.5,
    );

    const before = await served(fleet.emulators[0]!);
    let sent = 0;
    while (recovered!.breaker.state !== "closed" && sent < 40) {
      const r = await chat(fleet, 200 + sent++);
      assert.equal(r.status, 200);
    }
    assert.equal(recovered!.breaker.state, "closed", `still not closed after ${sent} requests`);
    assert.equal(await served(fleet.emulators[0]!), before + 1, "exactly one trial request went to it");
    const after = (await adminInstances(fleet)).instances.find((i) => i.id === recovered!.id)!;
    assert.equal(after.breaker, "closed");
    assert.equal(after.state, "healthy");
    assert.equal(after.breakerDetail.opens, 1);
    assert.equal(
      await metricValue(fleet, "ollama_fleet_instance_breaker_open", { instance: recovered!.id }),
      0,
    );
    for (const to of ["half-open", "closed"]) {
      assert.equal(
        await metricValue(fleet, "ollama_fleet_breaker_transitions_total", { instance: recovered!.id, to }),
        1,
        `one transition to ${to}`,
      );
    }
  });
});

describe("busy and failing backends", () => {
  let fleet: FleetFixture;
  before(async () => {
    fleet = await startFleet([{ args: MODEL_ARGS }, { args: MODEL_ARGS }], (c) => {
      c.loadBalancing.circuitBreakerThreshold = THRESHOLD;
      c.loadBalancing.circuitBreakerResetSeconds = 3600;
      c.loadBalancing.unhealthyThreshold = 100;
      c.loadBalancing.healthCheckIntervalSeconds = 3600;
      c.gateway.inventoryRefreshSeconds = 3600;
    });
    await preloadEverywhere(fleet);
  });
  after(async () => fleet?.close());

  it("retries a request a busy (503) instance refused on the other one, without blaming the busy one", async () => {
    const [busy, free] = fleet.gateway.fleet.instances();
    await fleet.emulators[0]!.fault({ kind: "busy503" });
    for (let n = 0; n < 10; n++) {
      const r = await chat(fleet, n);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.instance, free!.id);
      assert.equal(r.body.done, true);
    }
    assert.ok((await served(fleet.emulators[0]!)) >= 1, "the busy instance was tried");
    assert.equal(busy!.breaker.state, "closed", "a busy instance is not a broken one");
    assert.equal(busy!.breaker.stats().consecutiveFailures, 0);
    assert.equal(busy!.health, "healthy");
    await fleet.emulators[0]!.clearFaults();
  });

  it("answers 503 with Retry-After when every instance is busy", async () => {
    await Promise.all(fleet.emulators.map((e) => e.fault({ kind: "busy503" })));
    const before = await Promise.all(fleet.emulators.map((e) => served(e)));
    const r = await chat(fleet, 50);
    assert.equal(r.status, 503);
    assert.ok(Number(r.retryAfter) > 0, `Retry-After: ${r.retryAfter}`);
    assert.match(String(r.body.error), /busy/);
    const afterCounts = await Promise.all(fleet.emulators.map((e) => served(e)));
    assert.deepEqual(
      afterCounts.map((c, i) => c - before[i]!),
      [1, 1],
      "each instance tried exactly once",
    );
    await Promise.all(fleet.emulators.map((e) => e.clearFaults()));
  });

  it("moves traffic off an instance answering 500 once its breaker opens", async () => {
    const [failing, good] = fleet.gateway.fleet.instances();
    await fleet.emulators[0]!.fault({ kind: "error500" });
    let sent = 0;
    while (failing!.breaker.state !== "open" && sent < 40) {
      const r = await chat(fleet, 300 + sent++);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.instance, good!.id);
    }
    assert.equal(failing!.breaker.state, "open");
    const reached = await served(fleet.emulators[0]!);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, n) => chat(fleet, 400 + n)));
    assert.ok(answers.every((r) => r.status === 200 && r.instance === good!.id));
    assert.equal(await served(fleet.emulators[0]!), reached, "nothing more reached the 500-ing instance");
    await fleet.emulators[0]!.clearFaults();
  });
});
