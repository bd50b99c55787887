// parseByteSize: the sizes people write, in whole bytes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseByteSize } from "../src/config/load-config.js";

test("KB, MB, GB and TB are powers of 1000, as in Ollama's own sizes", () => {
  assert.equal(parseByteSize("7GB"), 7_000_000_000);
  assert.equal(parseByteSize("512MB"), 512_000_000);
  assert.equal(parseByteSize("2KB"), 2000);
  assert.equal(parseByteSize("1TB"), 1e12);
});

test("KiB, MiB, GiB and TiB are powers of 1024", () => {
  assert.equal(parseByteSize("7GiB"), 7 * 1024 ** 3);
  assert.equal(parseByteSize("32MiB"), 33_554_432);
  assert.equal(parseByteSize("1KiB"), 1024);
});

test("fractions, spaces, lower case and plain bytes are accepted", () => {
  assert.equal(parseByteSize("7.5GB"), 7_500_000_000);
  assert.equal(parseByteSize(" 7 gb "), 7_000_000_000);
  assert.equal(parseByteSize("1.5KiB"), 1536);
  assert.equal(parseByteSize("4096"), 4096);
  assert.equal(parseByteSize("10B"), 10);
  assert.equal(parseByteSize(4096), 4096);
});

test("unknown units, negative or fractional byte counts and junk give undefined", () => {
  for (const text of ["7G", "7 gigs", "-1GB", "1.5", "GB", "", "0x10", "1e9"]) {
    assert.equal(parseByteSize(text), undefined, text);
  }
  assert.equal(parseByteSize(-5), undefined);
  assert.equal(parseByteSize(1.5), undefined);
});
