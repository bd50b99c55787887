/** A request that failed before its first byte is retried on another instance; none left → 503. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";

const MODELS = ["--models", "llama3.2:1b:1.3:1.2"];

describe("failover before the first byte", () => {
  let fleet: FleetFixture;
  before(async () => {
    fleet = await startFleet([{ args: MODELS }, { args: MODELS }], (c) => {
      c.gateway.inventoryRefreshSeconds = 3600; // the gateway learns of the failure from real requests only
    });
  });
  after(async () => fleet?.close());

  const chat = (): Promise<Response> =>
    fetch(`${fleet.url}/api/chat`, {
      method: "POST",
      body: JSON.stringify({
        model: "llama3.2:1b",
        messages: [{ role: "user", content: "hi" }],
        stream: false,
        options: { num_predict: 3 },
      }),
    });

  it("retries on the other instance when one answers 500 on every inference", async () => {
    await fleet.emulators[0]!.fault({ kind: "error500" });
    const answers = await Promise.all(Array.from({ length: 8 }, chat));
    for (const res of answers) {
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-ollama-fleet-instance"), fleet.gateway.fleet.instances()[1]!.id);
    }
    await fetch(`${fleet.emulators[0]!.url}/__sim/fault`, { method: "DELETE" });
  });

  it("serves every request when one instance has crashed", async () => {
    await fleet.emulators[0]!.stop();
    const answers = await Promise.all(Array.from({ length: 8 }, chat));
    const [first, second] = fleet.gateway.fleet.instances();
    for (const res of answers) {
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-ollama-fleet-instance"), second!.id);
    }
    // Out of service either way: marked unhealthy by the failed connections, or already behind the breaker
    // that the previous test's 500s opened (then no request reached it to count against its health).
    assert.ok(["unhealthy", "open"].includes(first!.stats().state), first!.stats().state);
  });

  it("answers 503 with Retry-After in each dialect when no instance is reachable", async () => {
    await fleet.emulators[1]!.stop();
    const res = await chat();
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get("retry-after")) > 0);
    assert.match(((await res.json()) as { error: string }).error, /no instance/);
    const v1 = await fetch(`${fleet.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2:1b", messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(v1.status, 503);
    assert.ok(v1.headers.get("retry-after"));
    const err = ((await v1.json()) as { error: { message: string; type: string } }).error;
    assert.equal(err.type, "api_error");
  });
});
