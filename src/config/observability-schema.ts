// [Observability]: OpenTelemetry tracing and the GPU health monitor.
import { z } from "zod";
import {
  booleanField,
  byteSizeField,
  choiceField,
  numberField,
  secondsField,
  textField,
  urlField,
} from "./fields.js";

/** Valid values of TracingExporter; the first is the default. */
export const TRACING_EXPORTERS = ["none", "otlp"] as const;

/** [Observability] — traces and GPU monitoring. */
export interface ObservabilitySettings {
  /** none: no tracing at all; otlp: spans go to OtlpEndpoint over OTLP/HTTP (protobuf). */
  tracingExporter: "none" | "otlp";
  /** Where OTLP/HTTP spans are sent (a collector's /v1/traces). */
  otlpEndpoint: string;
  /** Share of requests traced, 0..1 (a client's sampled traceparent is always followed). */
  tracingSampleRatio: number;
  /** service.name of the spans. */
  serviceName: string;
  /** Poll GPUs (NVML, else nvidia-smi / amd-smi / rocm-smi) when the machine has any. */
  enableGpuMonitor: boolean;
  /** Seconds between two GPU polls. */
  gpuPollSeconds: number;
  /** From this core temperature (°C) a GPU's instances lose routing weight (halved, then halved per 5 °C). */
  gpuHotTemperatureCelsius: number;
  /** Below this much free device memory a GPU is memory-starved and its instances' weight is halved. */
  gpuMinFreeMemoryBytes: number;
}

/** Validation and defaults for [Observability]; each property also validates a single value. */
export const observabilitySchema = z.object({
  tracingExporter: choiceField(TRACING_EXPORTERS).default("none"),
  otlpEndpoint: urlField().default("http://127.0.0.1:4318/v1/traces"),
  tracingSampleRatio: numberField({
    integer: false,
    min: 0,
    max: 1,
    expected: "a number from 0 to 1",
  }).default(1),
  serviceName: textField("non-empty text such as ollama-fleet").default("ollama-fleet"),
  enableGpuMonitor: booleanField().default(true),
  gpuPollSeconds: secondsField().default(5),
  gpuHotTemperatureCelsius: numberField({
    integer: false,
    min: 0,
    minExclusive: true,
    max: 150,
    expected: "a temperature in °C from 0 to 150",
    unitInName: true,
  }).default(85),
  gpuMinFreeMemoryBytes: byteSizeField().default(256 * 1024 * 1024),
});
