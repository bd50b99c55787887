/**
 * OpenTelemetry's SDK, set up per gateway (no global provider): a sampler that follows the client's
 * traceparent or else samples TracingSampleRatio of requests, and an OTLP/HTTP exporter in batches, or a
 * given exporter (tests use an in-memory one) span by span.
 */
import type { Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import type { ObservabilitySettings } from "../config/observability-schema.js";

/** A tracer and the provider behind it; `close()` flushes what is buffered and stops exporting. */
export interface Tracing {
  tracer: Tracer;
  close(): Promise<void>;
}

/** What tracing is built from. */
export interface TracingOptions {
  settings: Pick<
    ObservabilitySettings,
    "tracingExporter" | "otlpEndpoint" | "tracingSampleRatio" | "serviceName"
  >;
  serviceVersion: string;
  /** Export here instead of OTLP, whatever TracingExporter says (tests: InMemorySpanExporter). */
  exporter?: SpanExporter | undefined;
}

/** The tracing of one gateway, or undefined when it is off (TracingExporter = none and no exporter given). */
export function createTracing(options: TracingOptions): Tracing | undefined {
  const { settings } = options;
  if (!options.exporter && settings.tracingExporter === "none") return undefined;
  const processor = options.exporter
    ? new SimpleSpanProcessor(options.exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter({ url: settings.otlpEndpoint }));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.serviceName,
      [ATTR_SERVICE_VERSION]: options.serviceVersion,
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.tracingSampleRatio) }),
    spanProcessors: [processor],
  });
  return {
    tracer: provider.getTracer("ollama-fleet", options.serviceVersion),
    close: () => provider.shutdown(),
  };
}
