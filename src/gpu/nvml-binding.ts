/**
 * NVML (libnvidia-ml.so.1, the library behind nvidia-smi and nvidia-ml-py) called through koffi.
 * Signatures and struct layouts follow nvml.h; handles are opaque pointers. This is the I/O edge of
 * NVIDIA detection: everything it returns is raw readings for gpu-info.ts to complete.
 */
import { blankReading, type RawGpuReading } from "./gpu-info.js";
import { formatCudaDriverVersion, nvmlErrorText } from "./nvml-codes.js";

type Koffi = typeof import("koffi").default;
type KoffiFunction = ReturnType<ReturnType<Koffi["load"]>["func"]>;
type TypeSpec = Parameters<Koffi["out"]>[0];

// Buffer sizes from nvml.h (the _V2 sizes, large enough for every driver).
const NAME_BUFFER = 96; // NVML_DEVICE_NAME_V2_BUFFER_SIZE
const UUID_BUFFER = 96; // NVML_DEVICE_UUID_V2_BUFFER_SIZE
const DRIVER_BUFFER = 80; // NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE
const NVML_SUCCESS = 0;
const NVML_ERROR_NOT_SUPPORTED = 3;
const NVML_TEMPERATURE_GPU = 0;

/** NVML could not be loaded or initialised; the message says why (missing library, no driver, …). */
export class NvmlUnavailableError extends Error {
  override readonly name = "NvmlUnavailableError";

  /** @param missing true when the library (or koffi) is absent, false when it loaded but failed. */
  constructor(
    message: string,
    readonly missing: boolean,
  ) {
    super(message);
  }
}

/** An initialised NVML: read devices as often as needed, then close once. */
export interface NvmlSession {
  /** Kernel driver version ("550.54.15"), or null. */
  driverVersion: string | null;
  /** Highest CUDA version the driver supports ("12.4"), or null. */
  cudaVersion: string | null;
  /** Reads every device now (fast once initialised; safe to poll). */
  readDevices(): RawGpuReading[];
  /** nvmlShutdown; the library stays mapped, since unloading NVML is not something its users do. */
  close(): Promise<void>;
}

/** The NVML entry points we call; the optional ones are missing from old drivers. */
interface NvmlFunctions {
  init: KoffiFunction;
  shutdown: KoffiFunction;
  getCount: KoffiFunction;
  getHandle: KoffiFunction;
  getName: KoffiFunction;
  getUuid: KoffiFunction;
  getMemory: KoffiFunction;
  getPci?: KoffiFunction;
  getComputeCapability?: KoffiFunction;
  getUtilization?: KoffiFunction;
  getTemperature?: KoffiFunction;
  getPower?: KoffiFunction;
  getDriverVersion?: KoffiFunction;
  getCudaVersion?: KoffiFunction;
}

/** Binds the functions; types are anonymous so a second open never clashes in koffi's type registry. */
function bind(koffi: Koffi, lib: ReturnType<Koffi["load"]>): NvmlFunctions {
  const device = koffi.pointer(koffi.opaque());
  const memory = koffi.struct({
    total: "unsigned long long",
    free: "unsigned long long",
    used: "unsigned long long",
  });
  const pci = koffi.struct({
    busIdLegacy: koffi.array("char", 16), // NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE
    domain: "unsigned int",
    bus: "unsigned int",
    device: "unsigned int",
    pciDeviceId: "unsigned int",
    pciSubSystemId: "unsigned int",
    busId: koffi.array("char", 32), // NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE
  });
  const utilization = koffi.struct({ gpu: "unsigned int", memory: "unsigned int" });
  const outUint = koffi.out(koffi.pointer("unsigned int"));
  const outInt = koffi.out(koffi.pointer("int"));
  const optional = (name: string, args: TypeSpec[]): KoffiFunction | undefined => {
    try {
      return lib.func(name, "int", args);
    } catch {
      return undefined; // symbol absent from this driver's NVML
    }
  };
  return {
    init: lib.func("nvmlInit_v2", "int", []),
    shutdown: lib.func("nvmlShutdown", "int", []),
    getCount: lib.func("nvmlDeviceGetCount_v2", "int", [outUint]),
    getHandle: lib.func("nvmlDeviceGetHandleByIndex_v2", "int", [
      "unsigned int",
      koffi.out(koffi.pointer(device)),
    ]),
    getName: lib.func("nvmlDeviceGetName", "int", [device, "uint8_t *", "unsigned int"]),
    getUuid: lib.func("nvmlDeviceGetUUID", "int", [device, "uint8_t *", "unsigned int"]),
    getMemory: lib.func("nvmlDeviceGetMemoryInfo", "int", [device, koffi.out(koffi.pointer(memory))]),
    getPci: optional("nvmlDeviceGetPciInfo_v3", [device, koffi.out(koffi.pointer(pci))]),
    getComputeCapability: optional("nvmlDeviceGetCudaComputeCapability", [device, outInt, outInt]),
    getUtilization: optional("nvmlDeviceGetUtilizationRates", [
      device,
      koffi.out(koffi.pointer(utilization)),
    ]),
    getTemperature: optional("nvmlDeviceGetTemperature", [device, "int", outUint]),
    getPower: optional("nvmlDeviceGetPowerUsage", [device, outUint]),
    getDriverVersion: optional("nvmlSystemGetDriverVersion", ["uint8_t *", "unsigned int"]),
    getCudaVersion: optional("nvmlSystemGetCudaDriverVersion_v2", [outInt]),
  };
}

/**
 * Loads NVML from libraryPath and initialises it (off the event loop: nvmlInit can take seconds when
 * persistence mode is off). Throws NvmlUnavailableError when koffi, the library or the driver is missing.
 */
export async function openNvml(libraryPath: string): Promise<NvmlSession> {
  let koffi: Koffi;
  try {
    koffi = (await import("koffi")).default;
  } catch (err) {
    throw new NvmlUnavailableError(`koffi is not usable here: ${(err as Error).message}`, true);
  }
  let fns: NvmlFunctions;
  try {
    fns = bind(koffi, koffi.load(libraryPath));
  } catch (err) {
    throw new NvmlUnavailableError(`cannot load ${libraryPath}: ${(err as Error).message}`, true);
  }
  const rc = await callAsync(fns.init);
  if (rc !== NVML_SUCCESS) throw new NvmlUnavailableError(`nvmlInit_v2 failed: ${nvmlErrorText(rc)}`, false);

  let closed = false;
  return {
    driverVersion: readSystemString(fns.getDriverVersion, DRIVER_BUFFER),
    cudaVersion: readCudaVersion(fns.getCudaVersion),
    readDevices: () => readDevices(fns),
    close: async () => {
      if (closed) return;
      closed = true;
      await callAsync(fns.shutdown);
    },
  };
}

/** Runs a no-argument NVML call on koffi's worker thread. */
function callAsync(fn: KoffiFunction): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async((err: unknown, rc: number) => (err ? reject(err as Error) : resolve(rc)));
  });
}

/** Every device's readings; a device whose handle cannot be had is still listed, with the error. */
function readDevices(fns: NvmlFunctions): RawGpuReading[] {
  const count: [number | null] = [null];
  const rc = fns.getCount(count) as number;
  if (rc !== NVML_SUCCESS)
    throw new NvmlUnavailableError(`nvmlDeviceGetCount_v2 failed: ${nvmlErrorText(rc)}`, false);
  const readings: RawGpuReading[] = [];
  for (let index = 0; index < (count[0] ?? 0); index++) readings.push(readDevice(fns, index));
  return readings;
}

/** One device: identity first, then each reading, recording (not throwing) per-field failures. */
function readDevice(fns: NvmlFunctions, index: number): RawGpuReading {
  const reading = blankReading(index, `NVIDIA GPU ${index}`, "nvidia", "nvml");
  const handle: [unknown] = [null];
  const handleRc = fns.getHandle(index, handle) as number;
  if (handleRc !== NVML_SUCCESS) {
    reading.errors.push(`handle: ${nvmlErrorText(handleRc)}`);
    return reading;
  }
  const dev = handle[0];
  // Each query: NOT_SUPPORTED is an absent sensor (null, silently); anything else is recorded.
  const query = (field: string, fn: KoffiFunction | undefined, ...args: unknown[]): boolean => {
    if (fn === undefined) return false;
    const rc = fn(dev, ...args) as number;
    if (rc === NVML_SUCCESS) return true;
    if (rc !== NVML_ERROR_NOT_SUPPORTED) reading.errors.push(`${field}: ${nvmlErrorText(rc)}`);
    return false;
  };
  const name = Buffer.alloc(NAME_BUFFER);
  if (query("name", fns.getName, name, name.length)) reading.name = cString(name);
  const uuid = Buffer.alloc(UUID_BUFFER);
  if (query("uuid", fns.getUuid, uuid, uuid.length)) reading.uuid = cString(uuid) || null;
  const pci: { busId?: string } = {};
  if (query("pci", fns.getPci, pci)) reading.pciBusId = pci.busId || null;
  const memory: { total?: number | bigint; free?: number | bigint; used?: number | bigint } = {};
  if (query("memory", fns.getMemory, memory)) {
    reading.memoryTotalBytes = Number(memory.total);
    reading.memoryFreeBytes = Number(memory.free);
    reading.memoryUsedBytes = Number(memory.used);
  }
  const major: [number | null] = [null];
  const minor: [number | null] = [null];
  if (query("compute capability", fns.getComputeCapability, major, minor)) {
    reading.computeCapability = (major[0] ?? 0) * 10 + (minor[0] ?? 0);
  }
  const utilization: { gpu?: number } = {};
  if (query("utilization", fns.getUtilization, utilization))
    reading.utilizationPercent = utilization.gpu ?? null;
  const temperature: [number | null] = [null];
  if (query("temperature", fns.getTemperature, NVML_TEMPERATURE_GPU, temperature)) {
    reading.temperatureC = temperature[0];
  }
  const milliwatts: [number | null] = [null];
  if (query("power", fns.getPower, milliwatts) && milliwatts[0] !== null) {
    reading.powerDrawWatts = milliwatts[0] / 1000;
  }
  return reading;
}

/** A system-wide string (driver version), or null when the call is missing or fails. */
function readSystemString(fn: KoffiFunction | undefined, size: number): string | null {
  if (fn === undefined) return null;
  const buffer = Buffer.alloc(size);
  return (fn(buffer, size) as number) === NVML_SUCCESS ? cString(buffer) || null : null;
}

/** The CUDA driver version as "12.4", or null. */
function readCudaVersion(fn: KoffiFunction | undefined): string | null {
  if (fn === undefined) return null;
  const version: [number | null] = [null];
  if ((fn(version) as number) !== NVML_SUCCESS || version[0] === null) return null;
  return formatCudaDriverVersion(version[0]);
}

/** A NUL-terminated C string from a buffer. */
function cString(buffer: Buffer): string {
  const end = buffer.indexOf(0);
  return buffer.toString("utf8", 0, end < 0 ? buffer.length : end).trim();
}
