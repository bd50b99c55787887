// Model version consistency end to end: emulator processes holding different digests of one tag, the
// gateway's GET /fleet/models and drift gauge, and `ollama-fleet sync` pulling them back to one version.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import type { ModelSync } from "../src/http/admin/model-consistency-routes.js";
import type { ModelDigests } from "../src/supervisor/model-drift.js";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";

const CLI = path.join(process.cwd(), "dist/src/cli/main.js");
const MODEL = "qwen2.5:0.5b";
const EMULATOR = { args: ["--models", `${MODEL},smollm2:135m`, "--download-mbps", "100000"] };

/** JSON from a URL, failing the test on an HTTP error. */
async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  const text = await res.text();
  assert.ok(res.ok, `${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** The registry publishes `revision` of MODEL (every emulator pulls from the same registry). */
async function publish(fleet: FleetFixture, revision: number): Promise<void> {
  for (const e of fleet.emulators) {
    await json(`${e.url}/__sim/registry`, {
      method: "POST",
      body: JSON.stringify({ model: MODEL, revision }),
    });
  }
}

/** Someone runs `ollama pull MODEL` on one instance directly, behind the gateway's back. */
async function pullDirectly(url: string): Promise<void> {
  const answer = await json<{ status: string }>(`${url}/api/pull`, {
    method: "POST",
    body: JSON.stringify({ model: MODEL, stream: false }),
  });
  assert.equal(answer.status, "success");
}

/** The digest each emulator holds for MODEL, straight from its /api/tags. */
async function digests(fleet: FleetFixture): Promise<string[]> {
  return Promise.all(
    fleet.emulators.map(async (e) => {
      const tags = await json<{ models: { name: string; digest: string }[] }>(`${e.url}/api/tags`);
      return tags.models.find((m) => m.name === MODEL)?.digest ?? "";
    }),
  );
}

/** The gateway's drift report for MODEL. */
async function report(fleet: FleetFixture): Promise<{ consistent: boolean; model: ModelDigests }> {
  const r = await json<{ consistent: boolean; models: ModelDigests[] }>(`${fleet.url}/fleet/models`);
  const model = r.models.find((m) => m.model === MODEL);
  assert.ok(model, "the model is listed");
  return { consistent: r.consistent, model };
}

/** Runs `ollama-fleet sync` against the fleet's gateway. */
async function sync(
  fleet: FleetFixture,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [CLI, "sync", "--gateway", fleet.url, ...args],
      { timeout: 30_000, env: { ...process.env, OLLAMA_FLEET_ADMIN_KEY: "" } },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

test("the emulator installs a new digest when a tag is re-pulled after the registry published a new version", async () => {
  const fleet = await startFleet([EMULATOR]);
  try {
    const [before] = await digests(fleet);
    await pullDirectly(fleet.emulators[0]?.url ?? "");
    assert.deepEqual(await digests(fleet), [before], "same registry version: same digest");
    await publish(fleet, 1);
    await pullDirectly(fleet.emulators[0]?.url ?? "");
    const [after] = await digests(fleet);
    assert.notEqual(after, before);
  } finally {
    await fleet.close();
  }
});

test("GET /fleet/models shows one digest per model on a fresh fleet, and the drift gauge is 0", async () => {
  const fleet = await startFleet([EMULATOR, EMULATOR]);
  try {
    const r = await json<{ consistent: boolean; models: ModelDigests[] }>(`${fleet.url}/fleet/models`);
    assert.equal(r.consistent, true);
    assert.deepEqual(
      r.models.map((m) => [m.model, m.instances.length, m.digests.length, m.drifted]),
      [
        [MODEL, 2, 1, []],
        ["smollm2:135m", 2, 1, []],
      ],
    );
    const metrics = await (await fetch(`${fleet.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`ollama_fleet_model_digest_drift\\{model="${MODEL}"\\} 0`));
  } finally {
    await fleet.close();
  }
});

test("an instance left behind by an update is found and sync pulls only there, in one round", async () => {
  const fleet = await startFleet([EMULATOR, EMULATOR, EMULATOR]);
  try {
    const [a, b, c] = fleet.emulators;
    await publish(fleet, 1);
    await pullDirectly(a?.url ?? "");
    await pullDirectly(b?.url ?? "");
    const { consistent, model } = await report(fleet);
    const lagging = fleet.gateway.fleet.instances()[2]?.id ?? "";
    assert.equal(consistent, false);
    assert.deepEqual(model.drifted, [lagging]);
    assert.equal(model.majorityDigest, (await digests(fleet))[0]);
    const metrics = await (await fetch(`${fleet.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`ollama_fleet_model_digest_drift\\{model="${MODEL}"\\} 1`));

    const run = await sync(fleet, ["--json"]);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { consistent: boolean; synced: ModelSync[] };
    assert.equal(result.consistent, true);
    assert.deepEqual(
      result.synced.map((s) => [
        s.model,
        s.rounds.map((r) => [r.round, r.pulls.map((p) => [p.instance, p.ok])]),
      ]),
      [[MODEL, [[1, [[lagging, true]]]]]],
    );
    const now = await digests(fleet);
    assert.equal(new Set(now).size, 1);
    assert.equal(now[0], model.majorityDigest);
    assert.ok(c !== undefined);
  } finally {
    await fleet.close();
  }
});

test("when the odd one out holds the registry's version, sync pulls it everywhere else in a second round", async () => {
  const fleet = await startFleet([EMULATOR, EMULATOR, EMULATOR]);
  try {
    await publish(fleet, 2);
    await pullDirectly(fleet.emulators[2]?.url ?? "");
    const newest = (await digests(fleet))[2];
    const ids = fleet.gateway.fleet.instances().map((i) => i.id);
    const run = await sync(fleet, []);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`${MODEL.replace(".", "\\.")}: now consistent`));
    assert.match(run.stdout, new RegExp(`round 1: pulled on ${ids[2]} ok`));
    assert.match(run.stdout, new RegExp(`round 2: pulled on ${ids[0]} ok, ${ids[1]} ok`));
    assert.deepEqual(await digests(fleet), [newest, newest, newest]);
    assert.equal((await report(fleet)).consistent, true);
  } finally {
    await fleet.close();
  }
});

test("sync --dry-run reports the drift, pulls nothing and exits 1", async () => {
  const fleet = await startFleet([EMULATOR, EMULATOR]);
  try {
    await publish(fleet, 1);
    await pullDirectly(fleet.emulators[0]?.url ?? "");
    const before = await digests(fleet);
    const run = await sync(fleet, ["--dry-run"]);
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      new RegExp(`^drift: ${MODEL.replace(".", "\\.")}: gpu0-\\d+ [0-9a-f]{12}, gpu1-\\d+`),
    );
    assert.deepEqual(await digests(fleet), before);
  } finally {
    await fleet.close();
  }
});

test("sync against a gateway with an admin key needs the key", async () => {
  const fleet = await startFleet([EMULATOR], (config) => {
    config.gateway.adminKey = "s3cret";
  });
  try {
    const refused = await sync(fleet, []);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /HTTP 401: admin key required/);
    const allowed = await sync(fleet, ["--admin-key", "s3cret"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /All 2 model\(s\) have one version on every instance/);
  } finally {
    await fleet.close();
  }
});
