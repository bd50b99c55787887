/**
 * CUDA_VISIBLE_DEVICES (and ROCR_/HIP_VISIBLE_DEVICES on AMD) as the CUDA runtime reads it, applied to a
 * detected GPU list. Pure: the caller passes the variable's value.
 */

/** What the variable asks for. */
export type VisibleDevicesSpec = { kind: "all" } | { kind: "none" } | { kind: "list"; entries: string[] };

/** Parses the variable: unset → all; "" or a first entry of "-1" → none; else the comma-separated entries. */
export function parseVisibleDevices(value: string | undefined): VisibleDevicesSpec {
  if (value === undefined) return { kind: "all" };
  const entries = value
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
  if (entries.length === 0 || entries[0] === "-1") return { kind: "none" };
  return { kind: "list", entries };
}

/** What identifies a GPU for the variable: its index and its UUID. */
export interface VisibleCandidate {
  /** Index in PCI bus order (as nvidia-smi and NVML number devices). */
  id: number;
  /** "GPU-…" UUID. */
  uuid: string;
}

/** The GPUs the variable keeps (in its order), those it hides, and what looked wrong. */
export interface VisibleDevicesResult<T> {
  /** Kept GPUs, in the order the variable lists them (that is the CUDA device order a child will see). */
  visible: T[];
  /** GPUs present but not listed. */
  hidden: T[];
  /** Entries that matched nothing, were ambiguous or repeated. */
  warnings: string[];
}

/**
 * Applies a spec as the CUDA runtime does: entries are indices or (prefixes of) UUIDs; the first entry
 * that matches no device ends the list (CUDA ignores everything after an invalid entry); repeats are
 * dropped; MIG instance UUIDs are not enumerated here and are skipped with a warning.
 */
export function applyVisibleDevices<T extends VisibleCandidate>(
  gpus: readonly T[],
  spec: VisibleDevicesSpec,
  variable: string,
): VisibleDevicesResult<T> {
  if (spec.kind === "all") return { visible: [...gpus], hidden: [], warnings: [] };
  if (spec.kind === "none") return { visible: [], hidden: [...gpus], warnings: [] };
  const visible: T[] = [];
  const warnings: string[] = [];
  for (const [position, entry] of spec.entries.entries()) {
    if (/^MIG-/i.test(entry)) {
      warnings.push(`${variable}: MIG instance ${entry} is not enumerated by detection; skipped`);
      continue;
    }
    const match = findEntry(gpus, entry);
    if (typeof match === "string") {
      const rest = spec.entries.slice(position + 1);
      const ignored =
        rest.length > 0 ? `; the entries after it (${rest.join(",")}) are ignored, as CUDA does` : "";
      warnings.push(`${variable}: "${entry}" ${match}${ignored}`);
      break;
    }
    if (visible.includes(match)) {
      warnings.push(`${variable}: "${entry}" names GPU ${match.id} again; the repeat is ignored`);
      continue;
    }
    visible.push(match);
  }
  const hidden = gpus.filter((g) => !visible.includes(g));
  return { visible, hidden, warnings };
}

/** The GPU an entry names, or why it names none. */
function findEntry<T extends VisibleCandidate>(gpus: readonly T[], entry: string): T | string {
  if (/^\d+$/.test(entry)) {
    const gpu = gpus.find((g) => g.id === Number(entry));
    return gpu ?? `matches no GPU (indices present: ${gpus.map((g) => g.id).join(", ") || "none"})`;
  }
  // CUDA accepts any unique prefix of a UUID, with or without the "GPU-" prefix.
  const wanted = entry.toLowerCase().replace(/^gpu-/, "");
  if (wanted === "") return "is not a device index or UUID";
  const found = gpus.filter((g) => g.uuid.toLowerCase().replace(/^gpu-/, "").startsWith(wanted));
  if (found.length === 1 && found[0] !== undefined) return found[0];
  if (found.length > 1) return "is a prefix of several GPU UUIDs";
  return /^-?\d+$/.test(entry) ? "is not a device index" : "matches no GPU UUID";
}

/**
 * CUDA numbers devices fastest-first unless CUDA_DEVICE_ORDER=PCI_BUS_ID, while nvidia-smi and NVML
 * number them by PCI bus: on a mixed machine an index can mean two different GPUs. Returns a warning then.
 */
export function deviceOrderWarning(
  spec: VisibleDevicesSpec,
  deviceOrder: string | undefined,
  gpuNames: readonly string[],
): string | undefined {
  if (spec.kind !== "list" || !spec.entries.some((e) => /^\d+$/.test(e))) return undefined;
  if (deviceOrder === "PCI_BUS_ID" || new Set(gpuNames).size <= 1) return undefined;
  return (
    "CUDA_VISIBLE_DEVICES uses indices on a machine with different GPU models: CUDA orders them fastest " +
    "first unless CUDA_DEVICE_ORDER=PCI_BUS_ID, so an index may name another GPU than nvidia-smi's; " +
    "prefer UUIDs (GPU-…)"
  );
}
