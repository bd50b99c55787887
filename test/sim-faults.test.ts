/** Faults on demand (/__sim/fault), client aborts and the stats the emulator keeps. */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import { startEmulator } from "../src/sim/emulator.js";
import { spawnEmulator, type SpawnedEmulator } from "./helpers/spawn-emulator.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function chat(url: string, numPredict: number, extra: object = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/api/chat`, {
    method: "POST",
    signal,
    body: JSON.stringify({
      model: "llama3.2:1b",
      messages: [{ role: "user", content: "hello there" }],
      options: { num_predict: numPredict },
      ...extra,
    }),
  });
}

/** Reads a streamed body line by line; resolves with the lines, or with what came before a failure. */
async function lines(
  res: Response,
  onLine?: (line: string) => void,
): Promise<{ lines: string[]; failed: boolean }> {
  const out: string[] = [];
  let buf = "";
  const dec = new TextDecoder();
  try {
    for await (const chunk of res.body!) {
      buf += dec.decode(chunk as Uint8Array, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line) {
          out.push(line);
          onLine?.(line);
        }
      }
    }
    return { lines: out, failed: false };
  } catch {
    return { lines: out, failed: true };
  }
}

async function until(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error("condition not met");
}

describe("faults, aborts and stats", () => {
  let emu: SpawnedEmulator;
  before(async () => {
    emu = await spawnEmulator([
      "--time-scale",
      "20",
      "--models",
      "llama3.2:1b,nomic-embed-text",
      "--parallel",
      "1",
    ]);
    await (await chat(emu.url, 1)).text(); // load the model
  });
  after(async () => emu?.stop());

  it("error500 answers every inference with Ollama's runner error, only the next N with count", async () => {
    await emu.fault({ kind: "error500", count: 2 });
    for (let i = 0; i < 2; i++) {
      const res = await chat(emu.url, 3);
      assert.equal(res.status, 500);
      assert.match(((await res.json()) as { error: string }).error, /^model runner has unexpectedly stopped/);
    }
    assert.equal((await fetch(`${emu.url}/api/tags`)).status, 200, "model listing is not inference");
    assert.equal((await chat(emu.url, 3)).status, 200, "the count ran out");
    await emu.fault({ kind: "error500" });
    const v1 = await fetch(`${emu.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2:1b", messages: [{ role: "user", content: "x" }] }),
    });
    assert.deepEqual(
      [v1.status, ((await v1.json()) as { error: { type: string } }).error.type],
      [500, "api_error"],
    );
    await emu.clearFaults();
  });

  it("error500 after K tokens ends the stream with an error line", async () => {
    await emu.fault({ kind: "error500", afterTokens: 3, count: 1 });
    const { lines: got } = await lines(await chat(emu.url, 50));
    assert.equal(got.length, 4);
    assert.deepEqual(JSON.parse(got[3]!), {
      error: "an error was encountered while running the model: unexpected EOF",
    });
  });

  it("busy503 answers 503 with Ollama's max-queue text", async () => {
    await emu.fault({ kind: "busy503", count: 1 });
    const res = await chat(emu.url, 3);
    assert.deepEqual(
      [res.status, await res.json()],
      [503, { error: "server busy, please try again.  maximum pending requests exceeded" }],
    );
  });

  it("reset destroys the connection after K tokens", async () => {
    await emu.fault({ kind: "reset", afterTokens: 2, count: 1 });
    const r = await lines(await chat(emu.url, 50));
    assert.equal(r.failed, true);
    assert.equal(r.lines.length, 2);
    await emu.fault({ kind: "reset", count: 1 });
    await assert.rejects(chat(emu.url, 5), "reset before any byte");
    assert.equal((await chat(emu.url, 3)).status, 200);
  });

  it("malformed writes one broken JSON line into an otherwise complete stream", async () => {
    await emu.fault({ kind: "malformed", afterTokens: 2, count: 1 });
    const { lines: got } = await lines(await chat(emu.url, 5));
    const broken = got.filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    assert.equal(broken.length, 1);
    assert.equal(got.indexOf(broken[0]!), 2);
    assert.equal((JSON.parse(got.at(-1)!) as { done: boolean }).done, true);
  });

  it("health-fail makes / and /api/version answer 500 until cleared", async () => {
    await emu.fault({ kind: "health-fail" });
    assert.equal((await fetch(`${emu.url}/`)).status, 500);
    assert.equal((await fetch(`${emu.url}/api/version`)).status, 500);
    assert.equal((await fetch(`${emu.url}/api/tags`)).status, 200);
    await emu.clearFaults();
    assert.equal((await fetch(`${emu.url}/`)).status, 200);
  });

  it("slow multiplies every modelled duration by its factor", async () => {
    const evalNs = async (): Promise<number> =>
      ((await (await chat(emu.url, 10, { stream: false })).json()) as { eval_duration: number })
        .eval_duration;
    const normal = await evalNs();
    await emu.fault({ kind: "slow", factor: 5 });
    const slow = await evalNs();
    await emu.clearFaults();
    assert.ok(Math.abs(slow / normal - 5) < 0.3, `${slow} vs ${normal}`);
  });

  it("hang holds new requests unanswered and freezes streams in flight until cleared", async () => {
    const stamps: number[] = [];
    const streaming = chat(emu.url, 60).then((res) => lines(res, () => stamps.push(Date.now())));
    await until(async () => stamps.length >= 3);
    await emu.fault({ kind: "hang" });
    const frozenAt = stamps.length;
    await assert.rejects(
      fetch(`${emu.url}/api/version`, { signal: AbortSignal.timeout(300) }),
      "no answer while hung",
    );
    assert.ok(stamps.length <= frozenAt + 2, "the stream stalled");
    await emu.clearFaults();
    const done = await streaming;
    assert.equal((JSON.parse(done.lines.at(-1)!) as { done: boolean }).done, true, "and resumed");
    await emu.fault({ kind: "hang", afterTokens: 2, count: 1 });
    const controller = new AbortController();
    const partial = await lines(await chat(emu.url, 20, {}, controller.signal), (l) => {
      if (l) setTimeout(() => controller.abort(), 300);
    });
    assert.equal(partial.lines.length, 2, "two tokens, then silence");
    await until(async () => (await emu.stats()).inFlight === 0);
  });

  it("counts a client that leaves mid-stream as cancelled and frees its slot at once", async () => {
    const before = await emu.stats();
    const url = new URL(`${emu.url}/api/chat`);
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: url.pathname, method: "POST" },
        (res) => {
          res.once("data", () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on("error", (e: NodeJS.ErrnoException) => (e.code === "ECONNRESET" ? undefined : reject(e)));
      req.end(
        JSON.stringify({
          model: "llama3.2:1b",
          messages: [{ role: "user", content: "long" }],
          options: { num_predict: 100000 },
        }),
      );
    });
    await until(async () => {
      const s = await emu.stats();
      return s.inFlight === 0 && s.cancelled === before.cancelled + 1 && s.running === 0;
    });
    const started = Date.now();
    assert.equal((await chat(emu.url, 2, { stream: false })).status, 200);
    assert.ok(Date.now() - started < 1000, "the single slot was free");
  });

  it("keeps stats of requests, concurrency, tokens and GPU time, and resets them", async () => {
    await emu.resetStats();
    // One slot: the second request waits while the first generates, so both are in flight at once.
    const answers = await Promise.all(
      [chat(emu.url, 300, { stream: false }), chat(emu.url, 300, { stream: false })].map(async (p) =>
        (await p).json(),
      ),
    );
    assert.deepEqual(
      answers.map((a) => (a as { eval_count: number }).eval_count),
      [300, 300],
    );
    await fetch(`${emu.url}/api/embed`, {
      method: "POST",
      body: JSON.stringify({ model: "nomic-embed-text", input: "a b c" }),
    });
    const s = await emu.stats();
    assert.equal(s.requests.total, 3);
    assert.deepEqual(s.requests.byEndpoint, { "/api/chat": 2, "/api/embed": 1 });
    assert.equal(s.maxConcurrency, 2);
    assert.equal(s.tokensGenerated, 600);
    assert.equal(s.perModel["llama3.2:1b"]?.requests, 2);
    assert.equal(s.loads, 1, "nomic-embed-text loaded");
    assert.ok(s.busyMs > 0 && s.busyMs <= s.uptimeMs);
    assert.ok(s.loaded.some((m) => m.name === "nomic-embed-text:latest"));
    await emu.resetStats();
    const z = await emu.stats();
    assert.deepEqual([z.requests.total, z.tokensGenerated, z.loads, z.cancelled], [0, 0, 0, 0]);
  });
});

describe("the crash fault", () => {
  it("exits the process with 137 at once", async () => {
    const emu = await spawnEmulator(["--time-scale", "50", "--models", "llama3.2:1b"]);
    const exited = new Promise<number | null>((r) => emu.proc.once("exit", (code) => r(code)));
    await emu.fault({ kind: "crash" });
    assert.equal(await exited, 137);
    await assert.rejects(fetch(`${emu.url}/api/version`));
  });

  it("exits after K streamed tokens when asked", async () => {
    const emu = await spawnEmulator(["--time-scale", "50", "--models", "llama3.2:1b"]);
    await emu.fault({ kind: "crash", afterTokens: 3 });
    const r = await lines(await chat(emu.url, 50));
    assert.equal(r.lines.length, 3);
    await until(async () => emu.proc.exitCode === 137);
  });

  it("in-process, drops every connection and stops listening", async () => {
    const handle = await startEmulator({ timeScale: 50 });
    const res = await fetch(`${handle.url}/__sim/fault`, {
      method: "POST",
      body: JSON.stringify({ kind: "crash" }),
    });
    assert.equal(res.status, 200);
    await until(async () =>
      fetch(`${handle.url}/`).then(
        () => false,
        () => true,
      ),
    );
    await handle.close();
  });
});
