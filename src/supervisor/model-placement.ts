/**
 * Model placement over planned instances, pure: hot models on fast GPUs, sizes balanced across
 * devices, same-family models together when that costs no balance, hot models copied where room
 * allows, and a gradual preload order per device. Every choice carries its reason.
 */
import type { ModelPrecision } from "../config/provisioning-schema.js";
import { formatGb, formatGib, residentBytes } from "./model-traits.js";
import type { PlannedModel } from "./plan-types.js";

/** One planned instance as placement sees it. */
export interface PlacementSlot {
  /** Instance id. */
  id: string;
  /** The device it runs on (GPU uuid, or "cpu"); balance and copies count per device. */
  deviceKey: string;
  /** "GPU 0 (NVIDIA GeForce RTX 4090)", for reasons. */
  deviceLabel: string;
  /** The device's predicted decode speed relative to the fastest (1 = fastest). */
  speed: number;
  /** Memory the instance may fill with models, bytes. */
  memoryLimitBytes: number;
  /** Memory the whole device offers for models (what one instance alone on it would get), bytes. */
  deviceUsableBytes: number;
  /** OLLAMA_NUM_PARALLEL: each slot adds a KV cache to every loaded model. */
  numParallel: number;
  /** Precisions the device computes in hardware. */
  precisions: ReadonlySet<ModelPrecision>;
}

/** One configured model with what is known about it. */
export interface PlacementModel {
  /** Normalised name. */
  name: string;
  /** Relative demand (> 0). */
  weight: number;
  /** Size on disk, or undefined when nobody knows it. */
  fileBytes: number | undefined;
  /** Precision the device must support, if any. */
  precision: ModelPrecision | undefined;
  /** Vocabulary family (modelFamily). */
  family: string;
}

/** Where every model went, and why the others did not. */
export interface PlacementResult {
  /** Models per instance id, preload order first. */
  models: Map<string, PlannedModel[]>;
  /** Models no instance can hold. */
  unplaced: { name: string; reason: string }[];
  /** Things the user should know. */
  warnings: string[];
}

/** A model assigned to a slot, before the preload pass. */
interface Assignment {
  model: PlacementModel;
  residentBytes: number | undefined;
  reason: string;
}

/** Placement's working state. */
interface Board {
  slots: readonly PlacementSlot[];
  assigned: Map<string, Assignment[]>;
}

const percent = (share: number): string => `${Math.round(share * 100)}%`;

/** How much fuller (share of memory) a device may end up, to keep a model beside its family. */
const FAMILY_TOLERANCE = 0.05;

/** Memory the model needs on this slot, if its size is known. */
function residentOn(model: PlacementModel, slot: PlacementSlot): number | undefined {
  return model.fileBytes === undefined ? undefined : residentBytes(model.fileBytes, slot.numParallel);
}

/** Bytes of models already assigned to a slot (unknown sizes count 0). */
function usedBytes(board: Board, slot: PlacementSlot): number {
  return (board.assigned.get(slot.id) ?? []).reduce((sum, a) => sum + (a.residentBytes ?? 0), 0);
}

/** Share of a device's instance memory taken, optionally with `extra` bytes added to it. */
function deviceLoad(board: Board, deviceKey: string, extra = 0): number {
  const slots = board.slots.filter((s) => s.deviceKey === deviceKey);
  const limit = slots.reduce((sum, s) => sum + s.memoryLimitBytes, 0);
  const used = slots.reduce((sum, s) => sum + usedBytes(board, s), 0) + extra;
  return limit > 0 ? used / limit : 1;
}

/** The busiest device's load if `bytes` were added to `slot`'s device. */
function peakLoadWith(board: Board, slot: PlacementSlot, bytes: number): number {
  const devices = [...new Set(board.slots.map((s) => s.deviceKey))];
  return Math.max(...devices.map((d) => deviceLoad(board, d, d === slot.deviceKey ? bytes : 0)));
}

/** True when the model fits beside what the slot already holds. */
function fitsBeside(board: Board, model: PlacementModel, slot: PlacementSlot): boolean {
  return usedBytes(board, slot) + (residentOn(model, slot) ?? 0) <= slot.memoryLimitBytes;
}

/** Why no slot can take the model, or undefined when some can. */
function whyUnplaceable(model: PlacementModel, slots: readonly PlacementSlot[]): string | undefined {
  if (slots.length === 0) return "there is no instance to place it on";
  const capable = slots.filter((s) => model.precision === undefined || s.precisions.has(model.precision));
  if (capable.length === 0) {
    return `it needs ${model.precision ?? ""}, which no planned device computes in hardware`;
  }
  if (capable.some((s) => (residentOn(model, s) ?? 0) <= s.memoryLimitBytes)) return undefined;
  const weights = `${formatGb(model.fileBytes ?? 0)} of weights`;
  const roomiest = capable.reduce((a, b) => (b.deviceUsableBytes > a.deviceUsableBytes ? b : a));
  const least = residentBytes(model.fileBytes ?? 0, 1);
  if (least > roomiest.deviceUsableBytes) {
    return (
      `it needs at least ${formatGib(least)} loaded (${weights} plus a KV cache for one slot), more than ` +
      `any device offers (the most is ${formatGib(roomiest.deviceUsableBytes)} on ${roomiest.deviceLabel})`
    );
  }
  const largest = capable.reduce((a, b) => (b.memoryLimitBytes > a.memoryLimitBytes ? b : a));
  return (
    `it needs ${formatGib(residentOn(model, largest) ?? 0)} loaded (${weights} plus KV cache for ` +
    `${largest.numParallel} parallel slot(s)), more than the largest instance holds ` +
    `(${formatGib(largest.memoryLimitBytes)} on ${largest.deviceLabel}); fewer instances per GPU ` +
    "(InstanceThresholdsGib) or fewer slots (NumParallel) would make room"
  );
}

/** Picks the first placement of one model, with the sentence saying why. */
function choosePrimary(
  board: Board,
  model: PlacementModel,
  hot: boolean,
  share: number,
): { slot: PlacementSlot; reason: string } {
  const candidates = board.slots.filter(
    (s) =>
      (model.precision === undefined || s.precisions.has(model.precision)) &&
      (residentOn(model, s) ?? 0) <= s.memoryLimitBytes,
  );
  const tier = (s: PlacementSlot): number => Math.round(s.speed * 10);
  const peak = (s: PlacementSlot): number => peakLoadWith(board, s, residentOn(model, s) ?? 0);
  const after = (s: PlacementSlot): number => deviceLoad(board, s.deviceKey, residentOn(model, s) ?? 0);
  const sorted = [...candidates].sort(
    (a, b) =>
      Number(fitsBeside(board, model, b)) - Number(fitsBeside(board, model, a)) ||
      (hot ? tier(b) - tier(a) : 0) ||
      peak(a) - peak(b) ||
      after(a) - after(b) ||
      usedBytes(board, a) - usedBytes(board, b) ||
      b.speed - a.speed,
  );
  const best = sorted[0] as PlacementSlot; // whyUnplaceable ran first: there is a candidate
  const beside = fitsBeside(board, model, best);
  // "No cost to balance": the busiest device and this one end within 5 points of the balanced choice.
  const kin = sorted.find(
    (s) =>
      (board.assigned.get(s.id) ?? []).some((a) => a.model.family === model.family) &&
      fitsBeside(board, model, s) === beside &&
      (!hot || tier(s) === tier(best)) &&
      peak(s) <= peak(best) + FAMILY_TOLERANCE &&
      after(s) <= after(best) + FAMILY_TOLERANCE,
  );
  const slot = kin ?? best;
  const demand = `${percent(share)} of the demand`;
  let reason: string;
  if (kin !== undefined) {
    const mate = (board.assigned.get(kin.id) ?? []).find((a) => a.model.family === model.family);
    reason =
      `Co-located with ${mate?.model.name ?? ""} (vocabulary family ${model.family}) on ${slot.deviceLabel}, ` +
      `within 5 points of the most balanced choice: ${percent(after(slot))} full with it, against ${percent(after(best))} on ` +
      `${best.deviceLabel} (the busiest device at ${percent(peak(slot))}, against ${percent(peak(best))}).`;
  } else if (hot) {
    reason =
      `A hot model (${demand}): on the fastest device that can hold it, ${slot.deviceLabel} ` +
      `(${slot.speed.toFixed(2)}× the fastest), ${percent(after(slot))} full with it.`;
  } else {
    reason =
      `Balances memory (${demand}): ${slot.deviceLabel} is ${percent(after(slot))} full with it, the least ` +
      `of the devices that can hold it (the busiest device is at ${percent(peak(slot))}).`;
  }
  if (!beside) {
    reason += " No instance has room for it beside its other models, so Ollama will swap them on demand.";
  }
  return { slot, reason };
}

/** Adds copies of hot models, one per model per round, hottest first, only where they fit beside. */
function replicate(board: Board, models: readonly PlacementModel[], total: number, warnings: string[]): void {
  const wanted = new Map(
    models.map((m) => [m.name, Math.max(1, Math.round((m.weight / total) * board.slots.length))]),
  );
  const copies = (m: PlacementModel): PlacementSlot[] =>
    board.slots.filter((s) => (board.assigned.get(s.id) ?? []).some((a) => a.model.name === m.name));
  for (let progress = true; progress;) {
    progress = false;
    for (const model of models) {
      const have = copies(model);
      const want = wanted.get(model.name) ?? 1;
      if (have.length === 0 || have.length >= want) continue;
      const devices = new Set(have.map((s) => s.deviceKey));
      const slot = board.slots
        .filter(
          (s) =>
            !have.includes(s) &&
            (model.precision === undefined || s.precisions.has(model.precision)) &&
            fitsBeside(board, model, s),
        )
        .sort(
          (a, b) =>
            Number(devices.has(a.deviceKey)) - Number(devices.has(b.deviceKey)) ||
            b.speed - a.speed ||
            usedBytes(board, a) - usedBytes(board, b),
        )[0];
      if (slot === undefined) continue;
      const spread = devices.has(slot.deviceKey) ? "another instance of the same device" : "another device";
      const reason =
        `Copy ${have.length + 1} of ${want}: ${model.name} has ${percent(model.weight / total)} of the demand, ` +
        `and ${slot.deviceLabel} has room beside its other models (${spread}).`;
      board.assigned.get(slot.id)?.push({ model, residentBytes: residentOn(model, slot), reason });
      progress = true;
    }
  }
  // An instance left with nothing would idle: it takes a copy of the hottest model it can hold.
  for (const slot of board.slots) {
    const list = board.assigned.get(slot.id);
    if (list === undefined || list.length > 0) continue;
    const model = models.find(
      (m) => (m.precision === undefined || slot.precisions.has(m.precision)) && fitsBeside(board, m, slot),
    );
    if (model === undefined) continue;
    const reason =
      `Copy ${copies(model).length + 1}: this instance had nothing assigned, so it takes the hottest model ` +
      `it can hold (${model.name}, ${percent(model.weight / total)} of the demand) rather than idle.`;
    list.push({ model, residentBytes: residentOn(model, slot), reason });
  }
  for (const model of models) {
    const want = wanted.get(model.name) ?? 1;
    const have = copies(model).length;
    if (have > 0 && have < want) {
      warnings.push(`${model.name} would deserve ${want} copies for its demand; memory allows ${have}.`);
    }
  }
}

/** Orders each slot's models hottest first and marks what fits together for preloading. */
function preloadOrder(board: Board): Map<string, PlannedModel[]> {
  const out = new Map<string, PlannedModel[]>();
  for (const slot of board.slots) {
    const list = [...(board.assigned.get(slot.id) ?? [])].sort((a, b) => b.model.weight - a.model.weight);
    let used = 0;
    const planned = list.map((a): PlannedModel => {
      const fits = used + (a.residentBytes ?? 0) <= slot.memoryLimitBytes;
      if (fits) used += a.residentBytes ?? 0;
      const note = fits
        ? ""
        : " Not preloaded: with the hotter models loaded it would exceed this instance's memory; it loads on first use.";
      return { name: a.model.name, sizeBytes: a.residentBytes, preload: fits, reason: a.reason + note };
    });
    out.set(slot.id, planned);
  }
  return out;
}

/** Places every model on at least one slot that can hold it, then copies hot ones where room allows. */
export function placeModels(
  slots: readonly PlacementSlot[],
  models: readonly PlacementModel[],
): PlacementResult {
  const board: Board = { slots, assigned: new Map(slots.map((s) => [s.id, []])) };
  const unplaced: PlacementResult["unplaced"] = [];
  const warnings: string[] = [];
  const ordered = [...models].sort(
    (a, b) => b.weight - a.weight || (b.fileBytes ?? 0) - (a.fileBytes ?? 0) || a.name.localeCompare(b.name),
  );
  const total = ordered.reduce((sum, m) => sum + m.weight, 0);
  const mean = ordered.length > 0 ? total / ordered.length : 0;
  const placed: PlacementModel[] = [];
  for (const model of ordered) {
    const why = whyUnplaceable(model, slots);
    if (why !== undefined) {
      unplaced.push({ name: model.name, reason: `Not placed: ${why}.` });
      continue;
    }
    if (model.fileBytes === undefined) {
      warnings.push(
        `The size of ${model.name} is unknown: placed by demand only (write ${model.name}@SIZE).`,
      );
    }
    const { slot, reason } = choosePrimary(board, model, model.weight > mean, model.weight / total);
    board.assigned.get(slot.id)?.push({ model, residentBytes: residentOn(model, slot), reason });
    placed.push(model);
  }
  replicate(board, placed, total, warnings);
  return { models: preloadOrder(board), unplaced, warnings };
}
