// CUDA_VISIBLE_DEVICES as the CUDA runtime reads it: indices, UUID prefixes, -1/empty, invalid entries.
import assert from "node:assert/strict";
import { test } from "node:test";
import { applyVisibleDevices, deviceOrderWarning, parseVisibleDevices } from "../src/gpu/visible-devices.js";

const GPUS = [
  { id: 0, uuid: "GPU-1a111111-aaaa-bbbb-cccc-000000000000" },
  { id: 1, uuid: "GPU-22222222-aaaa-bbbb-cccc-000000000000" },
  { id: 2, uuid: "GPU-22223333-aaaa-bbbb-cccc-000000000000" },
];
const ids = (value: string | undefined) =>
  applyVisibleDevices(GPUS, parseVisibleDevices(value), "CUDA_VISIBLE_DEVICES").visible.map((g) => g.id);

test("unset shows every GPU; empty, blank and -1 show none", () => {
  assert.deepEqual(ids(undefined), [0, 1, 2]);
  assert.deepEqual(ids(""), []);
  assert.deepEqual(ids("  "), []);
  assert.deepEqual(ids("-1"), []);
  assert.deepEqual(parseVisibleDevices("-1,0"), { kind: "none" });
});

test("indices keep the variable's order, which becomes the CUDA order a child sees", () => {
  assert.deepEqual(ids("2,0"), [2, 0]);
  assert.deepEqual(ids(" 1 , 2 "), [1, 2]);
});

test("UUIDs match whole or by unique prefix, with or without GPU-, case-insensitively", () => {
  assert.deepEqual(ids("GPU-22223333-aaaa-bbbb-cccc-000000000000"), [2]);
  assert.deepEqual(ids("GPU-1a11"), [0]);
  assert.deepEqual(ids("gpu-22223"), [2]);
  assert.deepEqual(ids("1A111111"), [0]);
  assert.deepEqual(ids("11"), [], "all digits is an index, never a UUID prefix");
});

test("the first invalid entry ends the list, as in CUDA, with a warning naming what was ignored", () => {
  const r = applyVisibleDevices(GPUS, parseVisibleDevices("1,7,0"), "CUDA_VISIBLE_DEVICES");
  assert.deepEqual(
    r.visible.map((g) => g.id),
    [1],
  );
  assert.deepEqual(
    r.hidden.map((g) => g.id),
    [0, 2],
  );
  assert.deepEqual(r.warnings, [
    'CUDA_VISIBLE_DEVICES: "7" matches no GPU (indices present: 0, 1, 2); the entries after it (0) are ignored, as CUDA does',
  ]);
  const ambiguous = applyVisibleDevices(GPUS, parseVisibleDevices("GPU-2222"), "CUDA_VISIBLE_DEVICES");
  assert.deepEqual(ambiguous.visible, []);
  assert.match(ambiguous.warnings[0] ?? "", /prefix of several GPU UUIDs/);
  assert.match(
    applyVisibleDevices(GPUS, parseVisibleDevices("0,-1"), "CUDA_VISIBLE_DEVICES").warnings[0] ?? "",
    /"-1" is not a device index/,
  );
});

test("repeats are dropped and MIG instance UUIDs skipped, each with a warning", () => {
  const r = applyVisibleDevices(
    GPUS,
    parseVisibleDevices("0,GPU-1a111111,MIG-4f0b7e6c-aaaa-bbbb-cccc-000000000000,1"),
    "CUDA_VISIBLE_DEVICES",
  );
  assert.deepEqual(
    r.visible.map((g) => g.id),
    [0, 1],
  );
  assert.equal(r.warnings.length, 2);
  assert.match(r.warnings[0] ?? "", /names GPU 0 again/);
  assert.match(r.warnings[1] ?? "", /MIG instance .* is not enumerated/);
});

test("indices on a mixed machine warn about CUDA's fastest-first order unless PCI_BUS_ID is set", () => {
  const mixed = ["NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 3060"];
  assert.match(
    deviceOrderWarning(parseVisibleDevices("1"), undefined, mixed) ?? "",
    /CUDA_DEVICE_ORDER=PCI_BUS_ID/,
  );
  assert.equal(deviceOrderWarning(parseVisibleDevices("1"), "PCI_BUS_ID", mixed), undefined);
  assert.equal(deviceOrderWarning(parseVisibleDevices("GPU-1a11"), undefined, mixed), undefined);
  assert.equal(deviceOrderWarning(parseVisibleDevices("1"), undefined, ["Tesla T4", "Tesla T4"]), undefined);
});
