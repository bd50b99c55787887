/** Streaming passes through as it arrives; a client that leaves frees its GPU slot at once. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request as httpRequest } from "node:http";
import { eventually, startFleet, type FleetFixture } from "./helpers/gateway-fixture.js";

describe("streaming through the gateway", () => {
  let fleet: FleetFixture;
  before(async () => {
    // A slow clock (x5): about one token per millisecond, so a scheduling stall cannot fake buffering.
    fleet = await startFleet([
      { args: ["--models", "llama3.2:1b:1.3:1.2", "--parallel", "1", "--time-scale", "5"] },
    ]);
  });
  after(async () => fleet?.close());

  it("passes NDJSON lines through as they arrive instead of buffering the answer", async () => {
    const res = await fetch(`${fleet.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2:1b", prompt: "write a lot", options: { num_predict: 200 } }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /ndjson/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const first = decoder.decode((await reader.read()).value);
    const firstLines = first.split("\n").filter((l) => l.trim() !== "");
    assert.equal((JSON.parse(firstLines[0] ?? "") as { done: boolean }).done, false);
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += decoder.decode(r.value);
    const allLines = [...firstLines, ...rest.split("\n").filter((l) => l.trim() !== "")];
    assert.equal(allLines.length, 201);
    assert.ok(firstLines.length < 100, `the first read held ${firstLines.length} of 201 lines: buffered`);
    assert.match(allLines.at(-1) ?? "", /"done":true/);
  });

  it("aborts the upstream request when the client disconnects mid-stream, freeing the slot", async () => {
    const emulator = fleet.emulators[0]!;
    const before = await emulator.stats();
    const url = new URL(`${fleet.url}/api/chat`);
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: url.pathname, method: "POST" },
        (res) => {
          res.once("data", () => {
            // One token arrived: the model is generating. Leave now.
            req.destroy();
            resolve();
          });
        },
      );
      req.on("error", (err) => ((err as { code?: string }).code === "ECONNRESET" ? undefined : reject(err)));
      req.end(
        JSON.stringify({
          model: "llama3.2:1b",
          messages: [{ role: "user", content: "a very long story" }],
          options: { num_predict: 100000 },
        }),
      );
    });
    await eventually(async () => {
      const s = await emulator.stats();
      return s.inFlight === 0 && s.cancelled > before.cancelled;
    });
    // A client leaving is not the instance's fault: it stays healthy, and its slot is free again.
    assert.equal(fleet.gateway.fleet.instances()[0]!.health, "healthy");
    const res = await fetch(`${fleet.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({
        model: "llama3.2:1b",
        prompt: "hi",
        stream: false,
        options: { num_predict: 2 },
      }),
    });
    assert.equal(res.status, 200);
    await eventually(() => fleet.gateway.fleet.instances()[0]!.inFlight === 0);
  });
});
