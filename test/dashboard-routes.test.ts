/** The dashboard's HTTP side on a real gateway and emulators: page, assets, state and the SSE stream. */
import assert from "node:assert/strict";
import { createServer, type AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { DashboardState } from "../src/dashboard/dashboard-state.js";
import { startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";
import { fakeGpuPoller } from "./helpers/metrics-scrape.js";

const MODELS = ["--models", "llama3.2:1b:1.3:1.2"];

type StateFrame = DashboardState & { seriesKind: "full" | "tail" };

/** Reads SSE frames from a fetch body, yielding parsed `state` events. */
async function* frames(body: ReadableStream<Uint8Array>): AsyncGenerator<StateFrame> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event === "state" && data) yield JSON.parse(data) as StateFrame;
    }
  }
}

function timeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
}

describe("the dashboard routes", () => {
  let fleet: FleetFixture;
  before(async () => {
    fleet = await startFleet([{ args: MODELS }, { args: MODELS }]);
  });
  after(async () => fleet?.close());

  it("serves the page with a policy that allows only the gateway's own scripts", async () => {
    const res = await fetch(`${fleet.url}/dashboard`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/html/);
    assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    const html = await res.text();
    assert.match(html, /\/dashboard\/assets\/uPlot\.iife\.min\.js/);
    assert.doesNotMatch(html, /https?:\/\//, "no external URL: the page works offline");
  });

  it("serves uPlot from node_modules and its own scripts, and 404s anything else", async () => {
    const uplot = await fetch(`${fleet.url}/dashboard/assets/uPlot.iife.min.js`);
    assert.equal(uplot.status, 200);
    assert.match(uplot.headers.get("content-type") ?? "", /javascript/);
    assert.match(await uplot.text(), /uPlot/);
    for (const f of [
      "dashboard.js",
      "charts.js",
      "views.js",
      "format.js",
      "dashboard.css",
      "uPlot.min.css",
    ]) {
      assert.equal((await fetch(`${fleet.url}/dashboard/assets/${f}`)).status, 200, f);
    }
    assert.equal((await fetch(`${fleet.url}/dashboard/assets/..%2Fdashboard-hub.js`)).status, 404);
    assert.equal((await fetch(`${fleet.url}/dashboard/assets/nope.js`)).status, 404);
  });

  it("answers a JSON snapshot naming every instance and GPU, with the estimate labelled", async () => {
    const state = (await (await fetch(`${fleet.url}/dashboard/state`)).json()) as StateFrame;
    assert.deepEqual(
      state.instances.map((i) => i.id),
      fleet.gateway.fleet.instances().map((i) => i.id),
    );
    assert.deepEqual(
      state.gpus.map((g) => g.gpuId),
      [0, 1],
    );
    assert.equal(state.gpuSource, "estimated");
    assert.equal(state.gateway.admin, "open");
    assert.equal(state.series.length, 300);
  });

  it("streams the full state at once, then ticks that count a request sent meanwhile", async () => {
    const abort = new AbortController();
    const res = await fetch(`${fleet.url}/dashboard/events`, { signal: abort.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    const stream = frames(res.body!);
    const first = (await stream.next()).value as StateFrame;
    assert.equal(first.seriesKind, "full");
    assert.equal(first.series.length, 300);

    const gen = await fetch(`${fleet.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2:1b", prompt: "hi", stream: false }),
    });
    assert.equal(gen.status, 200);
    const served = (await gen.json()) as { done: boolean };
    assert.equal(served.done, true);

    let counted = 0;
    for await (const frame of stream) {
      assert.equal(frame.seriesKind, "tail");
      assert.ok(frame.series.length <= 2);
      counted += frame.series.flatMap((p) => Object.values(p.requests)).reduce((a, b) => a + b, 0);
      if (counted > 0) break;
    }
    assert.equal(counted, 1);
    abort.abort();
  });

  it("notes a drain done through the admin API among the recent events", async () => {
    const id = fleet.gateway.fleet.instances()[0]!.id;
    assert.equal((await fetch(`${fleet.url}/fleet/instances/${id}/drain`, { method: "POST" })).status, 200);
    const deadline = Date.now() + 5000;
    let events: DashboardState["events"] = [];
    while (Date.now() < deadline) {
      events = ((await (await fetch(`${fleet.url}/dashboard/state`)).json()) as StateFrame).events;
      if (events.some((e) => e.instanceId === id && /drained/.test(e.message))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(
      events.some((e) => e.instanceId === id && /drained/.test(e.message)),
      JSON.stringify(events),
    );
    await fetch(`${fleet.url}/fleet/instances/${id}/undrain`, { method: "POST" });
  });
});

describe("closing a gateway with dashboards open", () => {
  it("ends every event stream and leaves no timer behind", async () => {
    const before = timeouts();
    const fleet = await startFleet([{ args: MODELS }]);
    const res = await fetch(`${fleet.url}/dashboard/events`);
    const stream = frames(res.body!);
    assert.equal((await stream.next()).value?.seriesKind, "full");
    const started = Date.now();
    await fleet.close();
    assert.ok(Date.now() - started < 5000, "an open stream does not hold the close");
    // The stream ends rather than hanging or failing.
    for await (const _frame of stream) {
      // drain any frame sent before the end
    }
    await new Promise((r) => setImmediate(r));
    assert.equal(timeouts(), before);
  });
});

describe("a gateway that cannot listen", () => {
  it("leaves no dashboard timer behind", async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as AddressInfo).port;
    const before = timeouts();
    try {
      await assert.rejects(
        startFleet([{ args: MODELS }], (c) => {
          c.gateway.listenPort = port;
        }),
        /EADDRINUSE/,
      );
      await new Promise((r) => setImmediate(r));
      assert.equal(timeouts(), before);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});

describe("the dashboard with a GPU monitor", () => {
  it("shows the monitor's readings, labelled measured, instead of the estimate", async (t) => {
    const poller = await fakeGpuPoller();
    if ("skip" in poller) {
      t.skip(poller.skip);
      return;
    }
    const fleet = await startFleet([{ args: MODELS }], () => {}, { gpuPoller: poller });
    try {
      const state = (await (await fetch(`${fleet.url}/dashboard/state`)).json()) as StateFrame;
      assert.equal(state.gpuSource, "measured");
      const gpu0 = state.gpus.find((g) => g.gpuId === 0)!;
      assert.equal(gpu0.name, "NVIDIA GeForce RTX 4090");
      assert.equal(gpu0.utilizationPercent, 23);
      assert.equal(gpu0.temperatureC, 51);
      assert.deepEqual(gpu0.instances, [fleet.gateway.fleet.instances()[0]!.id]);
    } finally {
      await fleet.close();
    }
  });
});
