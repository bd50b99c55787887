/** Admin key rules, the /fleet admin API with drain/undrain, /metrics and /healthz. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { checkAdmin } from "../src/http/admin/admin-auth.js";
import { GatewayError } from "../src/errors/catalog.js";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";

const MODELS = ["--models", "llama3.2:1b:1.3:1.2"];

describe("admin access rules", () => {
  it("lets anyone in on loopback when no admin key is configured", () => {
    assert.doesNotThrow(() => checkAdmin({ adminKey: undefined, listenHost: "127.0.0.1" }, undefined));
    assert.doesNotThrow(() => checkAdmin({ adminKey: undefined, listenHost: "::1" }, undefined));
  });

  it("refuses admin calls on a public address when no admin key is configured", () => {
    assert.throws(
      () => checkAdmin({ adminKey: undefined, listenHost: "0.0.0.0" }, undefined),
      (e: unknown) => e instanceof GatewayError && e.status === 403 && /0\.0\.0\.0/.test(e.message),
    );
  });

  it("requires the bearer key once one is configured, even on loopback", () => {
    const s = { adminKey: "s3cret", listenHost: "127.0.0.1" };
    assert.throws(
      () => checkAdmin(s, undefined),
      (e: unknown) => e instanceof GatewayError && e.status === 401,
    );
    assert.throws(
      () => checkAdmin(s, "Bearer wrong"),
      (e: unknown) => e instanceof GatewayError && e.status === 403,
    );
    assert.doesNotThrow(() => checkAdmin(s, "Bearer s3cret"));
  });
});

describe("the admin API of a gateway with an admin key", () => {
  let fleet: FleetFixture;
  before(async () => {
    fleet = await startFleet([{ args: MODELS }, { args: MODELS }], (c) => {
      c.gateway.adminKey = "k3y";
    });
  });
  after(async () => fleet?.close());
  const auth = { authorization: "Bearer k3y" };

  it("answers 401 in Ollama's dialect to a pull without the key, and 403 with a wrong one", async () => {
    const none = await fetch(`${fleet.url}/api/pull`, { method: "POST", body: '{"model":"all-minilm"}' });
    assert.equal(none.status, 401);
    assert.match(((await none.json()) as { error: string }).error, /admin key required/);
    const wrong = await fetch(`${fleet.url}/api/delete`, {
      method: "DELETE",
      body: '{"model":"llama3.2:1b"}',
      headers: { authorization: "Bearer nope" },
    });
    assert.equal(wrong.status, 403);
    const instances = await fetch(`${fleet.url}/fleet/instances`);
    assert.equal(instances.status, 401);
  });

  it("lists instances with their health, in-flight count and models", async () => {
    const res = await fetch(`${fleet.url}/fleet/instances`, { headers: auth });
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      instances: { id: string; health: string; modelsOnDisk: string[]; inFlight: number }[];
    };
    assert.equal(body.instances.length, 2);
    for (const i of body.instances) {
      assert.equal(i.health, "healthy");
      assert.deepEqual(i.modelsOnDisk, ["llama3.2:1b"]);
      assert.equal(i.inFlight, 0);
    }
  });

  it("sends no new requests to a drained instance and takes it back after undrain", async () => {
    const [a, b] = fleet.gateway.fleet.instances();
    const drain = await fetch(`${fleet.url}/fleet/instances/${a!.id}/drain`, {
      method: "POST",
      headers: auth,
    });
    assert.equal(drain.status, 200);
    assert.equal(((await drain.json()) as { draining: boolean }).draining, true);
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${fleet.url}/api/generate`, {
        method: "POST",
        body: JSON.stringify({
          model: "llama3.2:1b",
          prompt: `p${i}`,
          stream: false,
          options: { num_predict: 1 },
        }),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-ollama-fleet-instance"), b!.id);
    }
    await fetch(`${fleet.url}/fleet/instances/${a!.id}/undrain`, { method: "POST", headers: auth });
    assert.equal(a!.draining, false);
    const unknown = await fetch(`${fleet.url}/fleet/instances/nope/drain`, { method: "POST", headers: auth });
    assert.equal(unknown.status, 404);
  });

  it("exposes request counts and latency by model, instance and status in /metrics", async () => {
    const res = await fetch(`${fleet.url}/metrics`);
    const text = await res.text();
    assert.match(
      text,
      /ollama_fleet_requests_total\{endpoint="generate",model="llama3.2:1b",instance="gpu1-\d+",status="200",outcome="ok"\} 6/,
    );
    assert.match(text, /ollama_fleet_time_to_first_token_seconds_bucket\{/);
    assert.match(text, /ollama_fleet_instance_in_flight_requests\{instance="gpu0-\d+"\} 0/);
    assert.match(text, /ollama_fleet_instance_up\{instance="gpu1-\d+"\} 1/);
  });

  it("answers /healthz with the gateway's own status", async () => {
    const res = await fetch(`${fleet.url}/healthz`);
    assert.deepEqual(await res.json(), { status: "ok", instances: 2, healthy: 2 });
  });
});
