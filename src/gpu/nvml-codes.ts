/** NVML's return codes (nvmlReturn_t in nvml.h) and version encodings, as text. Pure. */

// nvmlReturn_t values; codes not listed print as their number.
const NVML_ERRORS: Record<number, string> = {
  1: "NVML was not first initialized",
  2: "invalid argument",
  3: "not supported",
  4: "insufficient permissions",
  5: "already initialized",
  6: "not found",
  7: "insufficient size",
  8: "insufficient external power",
  9: "driver not loaded",
  10: "timeout",
  11: "interrupt request issue",
  12: "NVML shared library not found",
  13: "function not found",
  14: "corrupted infoROM",
  15: "GPU is lost",
  16: "GPU requires reset",
  17: "operating system call failed",
  18: "driver/library version mismatch",
  19: "GPU is in use",
  20: "insufficient memory",
  21: "no data",
  22: "vGPU ECC not supported",
  23: "insufficient resources",
  24: "frequency not supported",
  25: "argument version mismatch",
  26: "deprecated",
  27: "not ready",
  28: "GPU not found",
  29: "invalid state",
  999: "unknown error",
};

/** "GPU is lost (NVML 15)" for a return code. */
export function nvmlErrorText(code: number): string {
  const text = NVML_ERRORS[code];
  return text === undefined ? `NVML error ${code}` : `${text} (NVML ${code})`;
}

/** nvmlSystemGetCudaDriverVersion's integer (major × 1000 + minor × 10) as "12.4". */
export function formatCudaDriverVersion(version: number): string {
  return `${Math.floor(version / 1000)}.${Math.floor((version % 1000) / 10)}`;
}
