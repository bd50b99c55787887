// One answer written once and fanned out: replay for late joiners, leavers, and the last one leaving.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CapturedResponse, SharedResponse } from "../src/http/coalesce-response.js";

describe("shared response", () => {
  it("gives a late joiner everything sent so far under its own request id, then the rest live", () => {
    const shared = new SharedResponse();
    const a = new CapturedResponse();
    const b = new CapturedResponse();
    shared.join(a, "req-a", true);
    shared.writeHead(200, { "content-type": "application/x-ndjson", "x-request-id": "req-a" });
    shared.write('{"n":1}\n');
    shared.write('{"n":2}\n');
    assert.equal(shared.join(b, "req-b"), 16, "16 bytes replayed");
    shared.write('{"n":3}\n');
    shared.end('{"done":true}\n');
    assert.equal(a.text, b.text);
    assert.equal(b.text, '{"n":1}\n{"n":2}\n{"n":3}\n{"done":true}\n');
    assert.deepEqual([a.headers["x-request-id"], b.headers["x-request-id"]], ["req-a", "req-b"]);
    assert.equal(b.headers["content-type"], "application/x-ndjson");
    assert.ok(a.complete && b.complete);
  });

  it("keeps answering the others when one client leaves", () => {
    const shared = new SharedResponse();
    const a = new CapturedResponse();
    const b = new CapturedResponse();
    shared.join(a, "a", true);
    shared.join(b, "b");
    let closed = false;
    shared.on("close", () => (closed = true));
    shared.writeHead(200, {});
    shared.write("x");
    a.abandon();
    shared.write("y");
    assert.equal(closed, false, "the upstream call goes on");
    assert.equal(shared.destroyed, false);
    shared.end();
    assert.equal(b.text, "xy");
    assert.equal(a.complete, false);
  });

  it("reports a dropped connection when the last client leaves, so the proxy aborts the upstream call", () => {
    const shared = new SharedResponse();
    const a = new CapturedResponse();
    const b = new CapturedResponse();
    shared.join(a, "a", true);
    shared.join(b, "b");
    let closes = 0;
    shared.on("close", () => closes++);
    a.abandon();
    b.abandon();
    assert.equal(closes, 1);
    assert.equal(shared.destroyed, true);
    assert.equal(shared.writableFinished, false, "not finished: the proxy's close handler aborts");
    assert.equal(shared.joinable, false);
    assert.equal(shared.join(new CapturedResponse(), "c"), undefined, "too late to join a dropped call");
  });

  it("refuses joiners once the answer has ended", () => {
    const shared = new SharedResponse();
    shared.join(new CapturedResponse(), "a", true);
    shared.writeHead(200, {});
    shared.end("whole");
    assert.equal(shared.join(new CapturedResponse(), "b"), undefined);
    assert.equal(shared.status, 200);
  });
});
