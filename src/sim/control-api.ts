/** The emulator's own control endpoints under /__sim/: faults, stats, resetting the stats, registry revisions. */
import type { EmulatorInternals } from "./emulator.js";
import { normalizeModelName } from "./catalog.js";
import { parseFault } from "./faults.js";
import { sendJson, sendText, type Exchange } from "./http-io.js";

/** Answers a /__sim/ request. */
export function handleControl(emu: EmulatorInternals, x: Exchange): void {
  const key = `${x.method} ${x.path}`;
  switch (key) {
    case "GET /__sim/stats":
      return sendJson(x, 200, emu.stats.snapshot(emu.scheduler, emu.faults.list()));
    case "POST /__sim/reset-stats":
      emu.stats.reset(emu.scheduler);
      return sendJson(x, 200, { ok: true });
    case "DELETE /__sim/fault":
      emu.faults.clear();
      emu.scheduler.setSlowFactor(1);
      emu.clock.resume();
      return sendJson(x, 200, { ok: true, faults: [] });
    case "POST /__sim/fault":
      return setFault(emu, x);
    case "GET /__sim/registry":
      return sendJson(x, 200, { revisions: emu.store.registryRevisions() });
    case "POST /__sim/registry":
      return setRegistryRevision(emu, x);
    default:
      return sendText(x, 404, "404 page not found");
  }
}

/** `{"model", "revision"}`: the registry now serves that revision of the tag (a new digest on pull). */
function setRegistryRevision(emu: EmulatorInternals, x: Exchange): void {
  let body: { model?: unknown; revision?: unknown };
  try {
    body = JSON.parse(x.body) as { model?: unknown; revision?: unknown };
  } catch (err) {
    return sendJson(x, 400, { error: `invalid JSON: ${(err as Error).message}` });
  }
  const name = typeof body.model === "string" ? normalizeModelName(body.model) : null;
  const revision = body.revision;
  if (name === null || typeof revision !== "number" || !Number.isInteger(revision) || revision < 0) {
    return sendJson(x, 400, { error: 'expected {"model": "name:tag", "revision": whole number >= 0}' });
  }
  emu.store.setRegistryRevision(name, revision);
  emu.log(`registry: ${name} at revision ${revision}`);
  sendJson(x, 200, { ok: true, revisions: emu.store.registryRevisions() });
}

function setFault(emu: EmulatorInternals, x: Exchange): void {
  let body: unknown;
  try {
    body = JSON.parse(x.body);
  } catch (err) {
    return sendJson(x, 400, { error: `invalid JSON: ${(err as Error).message}` });
  }
  const spec = parseFault(body);
  if (typeof spec === "string") return sendJson(x, 400, { error: spec });
  emu.faults.set(spec);
  emu.log(`fault armed: ${JSON.stringify(spec)}`);
  if (spec.kind === "slow") emu.scheduler.setSlowFactor(spec.factor ?? 10);
  // An open-ended hang also freezes the GPU: streams in flight stall where they are.
  if (spec.kind === "hang" && spec.count === undefined && spec.afterTokens === undefined) emu.clock.pause();
  if (spec.kind === "crash" && spec.afterTokens === undefined) {
    // Answer first so the caller learns the fault took, then go down.
    x.res.once("finish", () => setImmediate(() => emu.crash()));
  }
  sendJson(x, 200, { ok: true, faults: emu.faults.list() });
}
