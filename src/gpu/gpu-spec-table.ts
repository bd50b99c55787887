/**
 * The reviewed table of known GPUs: memory bandwidth and FP16 throughput from vendor spec sheets.
 *
 * Units: bandwidthGBps in GB/s (10^9 bytes), fp16Tflops in dense TFLOPS (no sparsity), memoryGiB as sold.
 * fp16Tflops is the peak FP16 matrix rate: tensor cores on NVIDIA since Volta (GeForce: the "FP16
 * accumulate" figure of the architecture whitepapers), matrix/WMMA rate on AMD; Pascal GeForce (no tensor
 * cores, FP16 at 1/64 rate) and GTX 16xx (no tensor cores, FP16 at 2× FP32) list their plain FP16 rate.
 * Where a vendor quotes only "with sparsity" or "AI TOPS" (FP4, sparse) the dense FP16 figure is derived as
 * SMs × 1024 FLOP/clock × boost clock, which reproduces every figure NVIDIA does publish since Turing.
 *
 * Sources (vendor pages and datasheets, checked when the row was written):
 * - NV-PASCAL: NVIDIA GeForce GTX 10-series product pages (memory bandwidth, FP32 × 1/64 for FP16).
 * - NV-TURING: NVIDIA Turing GPU Architecture whitepaper (2018), appendix tables; T4 datasheet.
 * - NV-VOLTA: NVIDIA V100 datasheet.
 * - NV-AMPERE: NVIDIA Ampere GA102 whitepaper; A100, A30, A10, A40, RTX A-series datasheets.
 * - AWS-A10G: no NVIDIA datasheet exists (AWS-only part); 600 GB/s and 24 GB as A10, tensor FP16 as
 *   compared by Baseten, "NVIDIA A10 vs A10G for ML model inference".
 * - NV-ADA: NVIDIA Ada Lovelace architecture whitepaper; L4, L40, L40S, RTX 6000 Ada datasheets.
 * - NV-HOPPER: NVIDIA H100 and H200 datasheets (dense = half the "with sparsity" figure).
 * - NV-BLACKWELL: NVIDIA HGX B200 datasheet (per GPU = system / 8); GeForce RTX 50 and RTX PRO 6000
 *   product pages (bandwidth, SM count, boost clock).
 * - AMD-CDNA: AMD Instinct MI50, MI100, MI210, MI250, MI250X, MI300X, MI300A, MI325X, MI350X, MI355X pages.
 * - AMD-RDNA: AMD Radeon RX 6000/7000/9000 and Radeon PRO W7900 product pages ("Peak Half Precision").
 */

/** Architecture families; the capability database maps compute capability / gfx target to these. */
export type GpuArchitecture =
  | "Pascal"
  | "Volta"
  | "Turing"
  | "Ampere"
  | "Ada Lovelace"
  | "Hopper"
  | "Blackwell"
  | "GCN 5"
  | "CDNA"
  | "CDNA 2"
  | "CDNA 3"
  | "CDNA 4"
  | "RDNA 2"
  | "RDNA 3"
  | "RDNA 4";

/** One row: a GPU model and the figures the planner uses to compare GPUs before measuring them. */
export interface GpuSpec {
  /** Canonical model name. */
  model: string;
  /** Matches the normalised detected name (see normaliseGpuName: lower case, vendor words dropped). */
  match: RegExp;
  /** When set, the row applies only to devices with at least this much memory (tells variants apart). */
  minMemoryGiB?: number;
  /** Memory as sold, in GiB. */
  memoryGiB: number;
  /** Peak memory bandwidth, GB/s. */
  bandwidthGBps: number;
  /** Peak dense FP16 matrix throughput, TFLOPS. */
  fp16Tflops: number;
  /** Architecture family. */
  architecture: GpuArchitecture;
  /** CUDA compute capability × 10 where it differs from the family's usual one (A100: 80, not 86). */
  computeCapability?: number;
  /** Key of the source in the header above. */
  source: string;
}

/** Known GPUs, most specific pattern first within each family (the first matching row wins). */
// One row per line keeps the table reviewable as a table.
// prettier-ignore
export const GPU_SPECS: readonly GpuSpec[] = [
  // NVIDIA Pascal (CC 6.0 / 6.1)
  { model: "GeForce GTX 1060", match: /\bgtx 1060\b/, memoryGiB: 6, bandwidthGBps: 192, fp16Tflops: 0.068, architecture: "Pascal", source: "NV-PASCAL" },
  { model: "GeForce GTX 1070 Ti", match: /\bgtx 1070 ti\b/, memoryGiB: 8, bandwidthGBps: 256, fp16Tflops: 0.128, architecture: "Pascal", source: "NV-PASCAL" },
  { model: "GeForce GTX 1070", match: /\bgtx 1070\b/, memoryGiB: 8, bandwidthGBps: 256, fp16Tflops: 0.101, architecture: "Pascal", source: "NV-PASCAL" },
  { model: "GeForce GTX 1080 Ti", match: /\bgtx 1080 ti\b/, memoryGiB: 11, bandwidthGBps: 484, fp16Tflops: 0.177, architecture: "Pascal", source: "NV-PASCAL" },
  { model: "GeForce GTX 1080", match: /\bgtx 1080\b/, memoryGiB: 8, bandwidthGBps: 320, fp16Tflops: 0.139, architecture: "Pascal", source: "NV-PASCAL" },
  { model: "Tesla P40", match: /\bp40\b/, memoryGiB: 24, bandwidthGBps: 346, fp16Tflops: 0.184, architecture: "Pascal", source: "NV-PASCAL" },
  { model: "Tesla P100 16GB", computeCapability: 60, match: /\bp100\b/, memoryGiB: 16, bandwidthGBps: 732, fp16Tflops: 18.7, architecture: "Pascal", source: "NV-PASCAL" },
  // NVIDIA Volta (CC 7.0)
  { model: "Tesla V100S PCIe", match: /\bv100s\b/, memoryGiB: 32, bandwidthGBps: 1134, fp16Tflops: 130, architecture: "Volta", source: "NV-VOLTA" },
  { model: "Tesla V100 SXM2", match: /\bv100\b.*\bsxm/, memoryGiB: 32, bandwidthGBps: 900, fp16Tflops: 125, architecture: "Volta", source: "NV-VOLTA" },
  { model: "Tesla V100 PCIe", match: /\bv100\b/, memoryGiB: 32, bandwidthGBps: 900, fp16Tflops: 112, architecture: "Volta", source: "NV-VOLTA" },
  // NVIDIA Turing (CC 7.5); GTX 16xx have no tensor cores
  { model: "GeForce GTX 1650", match: /\bgtx 1650\b/, memoryGiB: 4, bandwidthGBps: 128, fp16Tflops: 5.97, architecture: "Turing", source: "NV-TURING" },
  { model: "GeForce GTX 1660 Ti", match: /\bgtx 1660 ti\b/, memoryGiB: 6, bandwidthGBps: 288, fp16Tflops: 10.9, architecture: "Turing", source: "NV-TURING" },
  { model: "GeForce GTX 1660 SUPER", match: /\bgtx 1660 super\b/, memoryGiB: 6, bandwidthGBps: 336, fp16Tflops: 10.1, architecture: "Turing", source: "NV-TURING" },
  { model: "GeForce GTX 1660", match: /\bgtx 1660\b/, memoryGiB: 6, bandwidthGBps: 192, fp16Tflops: 10.1, architecture: "Turing", source: "NV-TURING" },
  { model: "GeForce RTX 2060 SUPER", match: /\brtx 2060 super\b/, memoryGiB: 8, bandwidthGBps: 448, fp16Tflops: 57.4, architecture: "Turing", source: "NV-TURING" },
  { model: "GeForce RTX 2060", match: /\brtx 2060\b/, memoryGiB: 6, bandwidthGBps: 336, fp16Tflops: 51.6, architecture: "Turing", source: "NV-TURING" },
  { model: "GeForce RTX 2070 SUPER", match: /\brtx 2070 super\b/, memoryGiB: 8, bandwidthGBps: 448, fp16Tflops: 72.5, architecture: "Turing", source: "NV-TURING" },
  { model: "GeForce RTX 2070", match: /\brtx 2070\b/, memoryGiB: 8, bandwidthGBps: 448, fp16Tflops: 59.7, architecture: "Turing", source: "NV-TURING" },
  { model: "GeForce RTX 2080 Ti", match: /\brtx 2080 ti\b/, memoryGiB: 11, bandwidthGBps: 616, fp16Tflops: 107.6, architecture: "Turing", source: "NV-TURING" },
  { model: "GeForce RTX 2080 SUPER", match: /\brtx 2080 super\b/, memoryGiB: 8, bandwidthGBps: 496, fp16Tflops: 89.2, architecture: "Turing", source: "NV-TURING" },
  { model: "GeForce RTX 2080", match: /\brtx 2080\b/, memoryGiB: 8, bandwidthGBps: 448, fp16Tflops: 80.5, architecture: "Turing", source: "NV-TURING" },
  { model: "TITAN RTX", match: /\btitan rtx\b/, memoryGiB: 24, bandwidthGBps: 672, fp16Tflops: 130.5, architecture: "Turing", source: "NV-TURING" },
  { model: "Quadro RTX 8000", match: /\bquadro rtx 8000\b/, memoryGiB: 48, bandwidthGBps: 672, fp16Tflops: 130.5, architecture: "Turing", source: "NV-TURING" },
  { model: "Tesla T4", match: /\bt4\b/, memoryGiB: 16, bandwidthGBps: 320, fp16Tflops: 65, architecture: "Turing", source: "NV-TURING" },
  // NVIDIA Ampere (CC 8.0 / 8.6)
  { model: "GeForce RTX 3050", match: /\brtx 3050\b/, memoryGiB: 8, bandwidthGBps: 224, fp16Tflops: 36.4, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "GeForce RTX 3060 Ti", match: /\brtx 3060 ti\b/, memoryGiB: 8, bandwidthGBps: 448, fp16Tflops: 64.8, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "GeForce RTX 3060 12GB", match: /\brtx 3060\b/, minMemoryGiB: 11, memoryGiB: 12, bandwidthGBps: 360, fp16Tflops: 51, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "GeForce RTX 3060 8GB", match: /\brtx 3060\b/, memoryGiB: 8, bandwidthGBps: 240, fp16Tflops: 51, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "GeForce RTX 3070 Ti", match: /\brtx 3070 ti\b/, memoryGiB: 8, bandwidthGBps: 608, fp16Tflops: 87, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "GeForce RTX 3070", match: /\brtx 3070\b/, memoryGiB: 8, bandwidthGBps: 448, fp16Tflops: 81.3, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "GeForce RTX 3080 Ti", match: /\brtx 3080 ti\b/, memoryGiB: 12, bandwidthGBps: 912, fp16Tflops: 136.4, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "GeForce RTX 3080 12GB", match: /\brtx 3080\b/, minMemoryGiB: 11, memoryGiB: 12, bandwidthGBps: 912, fp16Tflops: 122.6, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "GeForce RTX 3080", match: /\brtx 3080\b/, memoryGiB: 10, bandwidthGBps: 760, fp16Tflops: 119, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "GeForce RTX 3090 Ti", match: /\brtx 3090 ti\b/, memoryGiB: 24, bandwidthGBps: 1008, fp16Tflops: 160, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "GeForce RTX 3090", match: /\brtx 3090\b/, memoryGiB: 24, bandwidthGBps: 936, fp16Tflops: 142, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "RTX A4000", match: /\brtx a4000\b/, memoryGiB: 16, bandwidthGBps: 448, fp16Tflops: 76.7, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "RTX A5000", match: /\brtx a5000\b/, memoryGiB: 24, bandwidthGBps: 768, fp16Tflops: 111.1, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "RTX A6000", match: /\brtx a6000\b/, memoryGiB: 48, bandwidthGBps: 768, fp16Tflops: 154.8, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "A10", match: /^a10$/, memoryGiB: 24, bandwidthGBps: 600, fp16Tflops: 125, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "A10G", match: /^a10g$/, memoryGiB: 24, bandwidthGBps: 600, fp16Tflops: 70, architecture: "Ampere", source: "AWS-A10G" },
  { model: "A30", computeCapability: 80, match: /^a30\b/, memoryGiB: 24, bandwidthGBps: 933, fp16Tflops: 165, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "A40", match: /^a40\b/, memoryGiB: 48, bandwidthGBps: 696, fp16Tflops: 149.7, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "A100 SXM4 80GB", computeCapability: 80, match: /\ba100\b.*\bsxm/, minMemoryGiB: 60, memoryGiB: 80, bandwidthGBps: 2039, fp16Tflops: 312, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "A100 PCIe 80GB", computeCapability: 80, match: /\ba100\b/, minMemoryGiB: 60, memoryGiB: 80, bandwidthGBps: 1935, fp16Tflops: 312, architecture: "Ampere", source: "NV-AMPERE" },
  { model: "A100 40GB", computeCapability: 80, match: /\ba100\b/, memoryGiB: 40, bandwidthGBps: 1555, fp16Tflops: 312, architecture: "Ampere", source: "NV-AMPERE" },
  // NVIDIA Ada Lovelace (CC 8.9)
  { model: "GeForce RTX 4060 Ti", match: /\brtx 4060 ti\b/, memoryGiB: 8, bandwidthGBps: 288, fp16Tflops: 88.3, architecture: "Ada Lovelace", source: "NV-ADA" },
  { model: "GeForce RTX 4060", match: /\brtx 4060\b/, memoryGiB: 8, bandwidthGBps: 272, fp16Tflops: 60.5, architecture: "Ada Lovelace", source: "NV-ADA" },
  { model: "GeForce RTX 4070 Ti SUPER", match: /\brtx 4070 ti super\b/, memoryGiB: 16, bandwidthGBps: 672, fp16Tflops: 176.4, architecture: "Ada Lovelace", source: "NV-ADA" },
  { model: "GeForce RTX 4070 Ti", match: /\brtx 4070 ti\b/, memoryGiB: 12, bandwidthGBps: 504, fp16Tflops: 160.4, architecture: "Ada Lovelace", source: "NV-ADA" },
  { model: "GeForce RTX 4070 SUPER", match: /\brtx 4070 super\b/, memoryGiB: 12, bandwidthGBps: 504, fp16Tflops: 141.9, architecture: "Ada Lovelace", source: "NV-ADA" },
  { model: "GeForce RTX 4070", match: /\brtx 4070\b/, memoryGiB: 12, bandwidthGBps: 504, fp16Tflops: 116.6, architecture: "Ada Lovelace", source: "NV-ADA" },
  { model: "GeForce RTX 4080 SUPER", match: /\brtx 4080 super\b/, memoryGiB: 16, bandwidthGBps: 736, fp16Tflops: 208.9, architecture: "Ada Lovelace", source: "NV-ADA" },
  { model: "GeForce RTX 4080", match: /\brtx 4080\b/, memoryGiB: 16, bandwidthGBps: 716.8, fp16Tflops: 194.9, architecture: "Ada Lovelace", source: "NV-ADA" },
  { model: "GeForce RTX 4090", match: /\brtx 4090\b/, memoryGiB: 24, bandwidthGBps: 1008, fp16Tflops: 330.3, architecture: "Ada Lovelace", source: "NV-ADA" },
  { model: "RTX 6000 Ada Generation", match: /\brtx 6000 ada\b/, memoryGiB: 48, bandwidthGBps: 960, fp16Tflops: 364.2, architecture: "Ada Lovelace", source: "NV-ADA" },
  { model: "L4", match: /^l4$/, memoryGiB: 24, bandwidthGBps: 300, fp16Tflops: 121, architecture: "Ada Lovelace", source: "NV-ADA" },
  { model: "L40S", match: /^l40s\b/, memoryGiB: 48, bandwidthGBps: 864, fp16Tflops: 362, architecture: "Ada Lovelace", source: "NV-ADA" },
  { model: "L40", match: /^l40\b/, memoryGiB: 48, bandwidthGBps: 864, fp16Tflops: 181, architecture: "Ada Lovelace", source: "NV-ADA" },
  // NVIDIA Hopper (CC 9.0)
  { model: "H100 NVL", match: /\bh100\b.*\bnvl\b/, memoryGiB: 94, bandwidthGBps: 3900, fp16Tflops: 835.5, architecture: "Hopper", source: "NV-HOPPER" },
  { model: "H100 PCIe", match: /\bh100\b.*\bpcie\b/, memoryGiB: 80, bandwidthGBps: 2000, fp16Tflops: 756, architecture: "Hopper", source: "NV-HOPPER" },
  { model: "H100 SXM5", match: /\bh100\b/, memoryGiB: 80, bandwidthGBps: 3350, fp16Tflops: 989.4, architecture: "Hopper", source: "NV-HOPPER" },
  { model: "H200 NVL", match: /\bh200\b.*\bnvl\b/, memoryGiB: 141, bandwidthGBps: 4800, fp16Tflops: 835.5, architecture: "Hopper", source: "NV-HOPPER" },
  { model: "H200 SXM", match: /\bh200\b/, memoryGiB: 141, bandwidthGBps: 4800, fp16Tflops: 989.4, architecture: "Hopper", source: "NV-HOPPER" },
  // NVIDIA Blackwell (CC 10.0 data centre, 12.0 GeForce / RTX PRO)
  { model: "B200", computeCapability: 100, match: /^b200\b/, memoryGiB: 180, bandwidthGBps: 8000, fp16Tflops: 2250, architecture: "Blackwell", source: "NV-BLACKWELL" },
  { model: "GeForce RTX 5060 Ti", match: /\brtx 5060 ti\b/, memoryGiB: 16, bandwidthGBps: 448, fp16Tflops: 94.8, architecture: "Blackwell", source: "NV-BLACKWELL" },
  { model: "GeForce RTX 5060", match: /\brtx 5060\b/, memoryGiB: 8, bandwidthGBps: 448, fp16Tflops: 76.7, architecture: "Blackwell", source: "NV-BLACKWELL" },
  { model: "GeForce RTX 5070 Ti", match: /\brtx 5070 ti\b/, memoryGiB: 16, bandwidthGBps: 896, fp16Tflops: 175.8, architecture: "Blackwell", source: "NV-BLACKWELL" },
  { model: "GeForce RTX 5070", match: /\brtx 5070\b/, memoryGiB: 12, bandwidthGBps: 672, fp16Tflops: 123.5, architecture: "Blackwell", source: "NV-BLACKWELL" },
  { model: "GeForce RTX 5080", match: /\brtx 5080\b/, memoryGiB: 16, bandwidthGBps: 960, fp16Tflops: 225.4, architecture: "Blackwell", source: "NV-BLACKWELL" },
  { model: "GeForce RTX 5090", match: /\brtx 5090\b/, memoryGiB: 32, bandwidthGBps: 1792, fp16Tflops: 419, architecture: "Blackwell", source: "NV-BLACKWELL" },
  { model: "RTX PRO 6000 Blackwell", match: /\brtx pro 6000\b/, memoryGiB: 96, bandwidthGBps: 1792, fp16Tflops: 503.8, architecture: "Blackwell", source: "NV-BLACKWELL" },
  // AMD Instinct
  { model: "Instinct MI50", match: /\bmi50\b/, memoryGiB: 32, bandwidthGBps: 1024, fp16Tflops: 26.5, architecture: "GCN 5", source: "AMD-CDNA" },
  { model: "Instinct MI100", match: /\bmi100\b/, memoryGiB: 32, bandwidthGBps: 1228.8, fp16Tflops: 184.6, architecture: "CDNA", source: "AMD-CDNA" },
  { model: "Instinct MI210", match: /\bmi210\b/, memoryGiB: 64, bandwidthGBps: 1638.4, fp16Tflops: 181, architecture: "CDNA 2", source: "AMD-CDNA" },
  { model: "Instinct MI250X", match: /\bmi250x\b/, memoryGiB: 128, bandwidthGBps: 3276.8, fp16Tflops: 383, architecture: "CDNA 2", source: "AMD-CDNA" },
  { model: "Instinct MI250", match: /\bmi250\b/, memoryGiB: 128, bandwidthGBps: 3276.8, fp16Tflops: 362.1, architecture: "CDNA 2", source: "AMD-CDNA" },
  { model: "Instinct MI300A", match: /\bmi300a\b/, memoryGiB: 128, bandwidthGBps: 5300, fp16Tflops: 980.6, architecture: "CDNA 3", source: "AMD-CDNA" },
  { model: "Instinct MI300X", match: /\bmi300x?\b/, memoryGiB: 192, bandwidthGBps: 5300, fp16Tflops: 1307.4, architecture: "CDNA 3", source: "AMD-CDNA" },
  { model: "Instinct MI325X", match: /\bmi325x\b/, memoryGiB: 256, bandwidthGBps: 6000, fp16Tflops: 1307.4, architecture: "CDNA 3", source: "AMD-CDNA" },
  { model: "Instinct MI350X", match: /\bmi350x\b/, memoryGiB: 288, bandwidthGBps: 8000, fp16Tflops: 2307.4, architecture: "CDNA 4", source: "AMD-CDNA" },
  { model: "Instinct MI355X", match: /\bmi355x\b/, memoryGiB: 288, bandwidthGBps: 8000, fp16Tflops: 2516.6, architecture: "CDNA 4", source: "AMD-CDNA" },
  // AMD Radeon
  { model: "Radeon RX 6800", match: /\brx 6800\b(?! xt)/, memoryGiB: 16, bandwidthGBps: 512, fp16Tflops: 32.3, architecture: "RDNA 2", source: "AMD-RDNA" },
  { model: "Radeon RX 6800 XT", match: /\brx 6800 xt\b/, memoryGiB: 16, bandwidthGBps: 512, fp16Tflops: 41.5, architecture: "RDNA 2", source: "AMD-RDNA" },
  { model: "Radeon RX 6900 XT", match: /\brx 6900 xt\b/, memoryGiB: 16, bandwidthGBps: 512, fp16Tflops: 46.1, architecture: "RDNA 2", source: "AMD-RDNA" },
  { model: "Radeon RX 7600", match: /\brx 7600\b/, memoryGiB: 8, bandwidthGBps: 288, fp16Tflops: 43.5, architecture: "RDNA 3", source: "AMD-RDNA" },
  { model: "Radeon RX 7700 XT", match: /\brx 7700 xt\b/, memoryGiB: 12, bandwidthGBps: 432, fp16Tflops: 70.3, architecture: "RDNA 3", source: "AMD-RDNA" },
  { model: "Radeon RX 7800 XT", match: /\brx 7800 xt\b/, memoryGiB: 16, bandwidthGBps: 624, fp16Tflops: 74.6, architecture: "RDNA 3", source: "AMD-RDNA" },
  { model: "Radeon RX 7900 GRE", match: /\brx 7900 gre\b/, memoryGiB: 16, bandwidthGBps: 576, fp16Tflops: 92, architecture: "RDNA 3", source: "AMD-RDNA" },
  { model: "Radeon RX 7900 XTX", match: /\brx 7900 xtx\b/, memoryGiB: 24, bandwidthGBps: 960, fp16Tflops: 122.8, architecture: "RDNA 3", source: "AMD-RDNA" },
  { model: "Radeon RX 7900 XT", match: /\brx 7900 xt\b/, memoryGiB: 20, bandwidthGBps: 800, fp16Tflops: 103, architecture: "RDNA 3", source: "AMD-RDNA" },
  { model: "Radeon PRO W7900", match: /\bpro w7900\b/, memoryGiB: 48, bandwidthGBps: 864, fp16Tflops: 122.6, architecture: "RDNA 3", source: "AMD-RDNA" },
  { model: "Radeon RX 9070 XT", match: /\brx 9070 xt\b/, memoryGiB: 16, bandwidthGBps: 640, fp16Tflops: 97.3, architecture: "RDNA 4", source: "AMD-RDNA" },
  { model: "Radeon RX 9070", match: /\brx 9070\b/, memoryGiB: 16, bandwidthGBps: 640, fp16Tflops: 72.3, architecture: "RDNA 4", source: "AMD-RDNA" },
];
