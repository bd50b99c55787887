/**
 * A slow instance (issue 3 §2, §6): once WeightedRoundRobin has measured both instances' speed, the
 * one running 4x slower receives a share of the requests no larger than its share of the capacity,
 * and still some (never zero while it has room).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";
import {
  adminInstances,
  chatBody,
  MODEL,
  MODEL_ARGS,
  pool,
  post,
  preloadEverywhere,
  served,
} from "./helpers/resilience.js";

const PER_INSTANCE = 4;
// x10: a 40-token answer takes about 20 ms on the normal instance and 80 ms on the slowed one.
const ARGS = [...MODEL_ARGS, "--parallel", String(PER_INSTANCE), "--time-scale", "10"];

describe("a slow instance under WeightedRoundRobin", () => {
  let fleet: FleetFixture;
  before(async () => {
    fleet = await startFleet([{ args: ARGS }, { args: ARGS }], (c) => {
      c.loadBalancing.loadBalancingStrategy = "WeightedRoundRobin";
      for (const i of c.instances) i.maxConcurrentRequests = PER_INSTANCE;
      c.gateway.inventoryRefreshSeconds = 3600;
      c.loadBalancing.healthCheckIntervalSeconds = 3600;
    });
    await preloadEverywhere(fleet);
  });
  after(async () => fleet?.close());

  const chat = async (n: number): Promise<string | null> => {
    const res = await post(fleet.url, "/api/chat", chatBody(`share ${n}`, 40, { stream: false }));
    const body = (await res.json()) as { eval_count?: number };
    assert.equal(res.status, 200);
    assert.equal(body.eval_count, 40);
    return res.headers.get("x-ollama-fleet-instance");
  };

  it("gives the 4x slower instance no more than its capacity share once speeds are learned, yet some", async () => {
    // The first instance is the slow one: ties in the balancer favour it, so a bias would show.
    await fleet.emulators[0]!.fault({ kind: "slow", factor: 4 });
    const [slow, fast] = fleet.gateway.fleet.instances();

    // Learn: sequential requests until both instances have a measured speed (bounded).
    const speed = async (id: string): Promise<number | undefined> => {
      const perf = (await adminInstances(fleet)).instances.find((i) => i.id === id)?.performance;
      return perf?.models?.find((m) => m.model === MODEL)?.tokensPerSecond;
    };
    for (let n = 0; n < 40; n++) {
      if ((await speed(slow!.id)) !== undefined && (await speed(fast!.id)) !== undefined && n >= 8) break;
      await chat(n);
    }
    const slowSpeed = await speed(slow!.id);
    const fastSpeed = await speed(fast!.id);
    assert.ok(slowSpeed !== undefined && fastSpeed !== undefined, "both speeds were measured");
    assert.ok(slowSpeed < fastSpeed, `measured ${slowSpeed} tokens/s (slow) vs ${fastSpeed} (fast)`);

    // Measure: 48 requests, 4 at a time (half the fleet's capacity, so the balancer has a choice).
    await Promise.all(fleet.emulators.map((e) => e.resetStats()));
    const REQUESTS = 48;
    const instances = await pool(REQUESTS, 4, (n) => chat(100 + n));
    const slowServed = await served(fleet.emulators[0]!);
    const fastServed = await served(fleet.emulators[1]!);
    assert.equal(slowServed + fastServed, REQUESTS, "each request reached exactly one instance once");
    assert.equal(
      instances.filter((i) => i === slow!.id).length,
      slowServed,
      "headers agree with the counters",
    );
    const capacityShare = PER_INSTANCE / (2 * PER_INSTANCE);
    assert.ok(
      slowServed / REQUESTS <= capacityShare,
      `the slow instance served ${slowServed} of ${REQUESTS}, more than its capacity share ${capacityShare}`,
    );
    assert.ok(slowServed < fastServed, `slow ${slowServed} vs fast ${fastServed}`);
    assert.ok(slowServed >= 1, "the slow instance still gets a trickle");
  });
});
