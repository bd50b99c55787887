import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";

const MODEL = "llama3.2:1b";
const words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda".split(" ");
const documentFor = (session: number) =>
  Array.from({ length: 700 }, (_, i) => words[(i * (session + 3)) % words.length]).join(" ");

interface SimStats {
  prefillTokensComputed: number;
  prefillTokensReused: number;
}

/** Runs `sessions` conversations of `turns` turns each (turns in order, sessions at once). */
async function converse(fleet: FleetFixture, sessions: number, turns: number): Promise<void> {
  await Promise.all(
    Array.from({ length: sessions }, async (_, s) => {
      const messages: { role: string; content: string }[] = [
        { role: "system", content: `Session ${s}. Answer from this document:\n${documentFor(s)}` },
      ];
      for (let t = 0; t < turns; t++) {
        messages.push({ role: "user", content: `question ${t} of session ${s}` });
        const res = await fetch(`${fleet.url}/api/chat`, {
          method: "POST",
          body: JSON.stringify({ model: MODEL, messages, stream: false, options: { num_predict: 8 } }),
        });
        assert.equal(res.status, 200);
        const body = (await res.json()) as { message: { content: string } };
        messages.push({ role: "assistant", content: body.message.content });
      }
    }),
  );
}

async function prefill(fleet: FleetFixture): Promise<SimStats> {
  const all = await Promise.all(
    fleet.emulators.map(async (e) => (await (await fetch(`${e.url}/__sim/stats`)).json()) as SimStats),
  );
  return {
    prefillTokensComputed: all.reduce((s, x) => s + x.prefillTokensComputed, 0),
    prefillTokensReused: all.reduce((s, x) => s + x.prefillTokensReused, 0),
  };
}

async function run(affinity: boolean): Promise<{ stats: SimStats; status: Record<string, unknown> }> {
  const spec = { args: ["--gpu", "RTX 4090:24", "--models", `${MODEL}:1.3:1.2`, "--parallel", "2"] };
  const fleet = await startFleet([spec, spec, spec], (c) => {
    c.loadBalancing.loadBalancingStrategy = "RoundRobin";
    c.loadBalancing.enableKvCacheSharing = affinity;
    // The gateway must know the slots (the supervisor's plan says; here the YAML would).
    for (const i of c.instances) i.maxConcurrentRequests = 2;
  });
  try {
    // Load the model everywhere first so every session starts on a hot instance.
    await Promise.all(
      fleet.emulators.map((e) =>
        fetch(`${e.url}/api/generate`, { method: "POST", body: JSON.stringify({ model: MODEL }) }),
      ),
    );
    await Promise.all(fleet.gateway.fleet.instances().map((i) => fleet.gateway.fleet.refresh(i.id)));
    // 5 sessions on 3 instances: round-robin's rotation then moves every session each turn (with a multiple of
    // 3 it would send each session back to the same instance by accident, when turns arrive in lockstep).
    await converse(fleet, 5, 4);
    const status = (await (await fetch(`${fleet.url}/fleet/status`)).json()) as Record<string, unknown>;
    return { stats: await prefill(fleet), status };
  } finally {
    await fleet.close();
  }
}

describe("KV-cache affinity end to end", () => {
  it("keeps each conversation on the instance holding its history, so most prompt tokens are reused", async () => {
    const off = await run(false);
    const on = await run(true);
    const share = (s: SimStats) => s.prefillTokensReused / (s.prefillTokensReused + s.prefillTokensComputed);
    assert.ok(
      on.stats.prefillTokensComputed <= 0.5 * off.stats.prefillTokensComputed,
      `computed with affinity ${on.stats.prefillTokensComputed} vs round-robin ${off.stats.prefillTokensComputed}`,
    );
    assert.ok(share(on.stats) > 0.6, `reused share with affinity ${share(on.stats).toFixed(2)}`);
    const kv = on.status.kvCache as { lookups: number; hits: number; measuredHitRatio: number | null };
    assert.equal(kv.lookups, 20);
    assert.ok(kv.hits >= 15, `${kv.hits} index hits`);
    // Ollama's own timings agree with the emulator's counters within a margin.
    assert.ok(
      kv.measuredHitRatio !== null && Math.abs(kv.measuredHitRatio - share(on.stats)) < 0.2,
      JSON.stringify(kv),
    );
  });
});
