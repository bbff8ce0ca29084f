import type { Telemetry } from "bullmq";
import { kilnVersion } from "../util/kiln-version.js";
import { redactUrl } from "../util/redact-url.js";
import { HousekeepingSpanFilter } from "./housekeeping-span-filter.js";

/** What `startTracing` needs once tracing is on. */
export interface TracingConfig {
  /** Where spans are POSTed: the traces endpoint as given, or the base endpoint + `/v1/traces`. */
  url: string;
  protocol: "http/protobuf" | "http/json";
  /** `service.name` of the spans. @defaultValue "kiln" (OTEL_SERVICE_NAME overrides) */
  serviceName: string;
}

/** Tracing as started in this process. */
export interface Tracing {
  readonly config: TracingConfig;
  /** BullMQ's `telemetry` option (bullmq-otel): every Queue, Worker and FlowProducer of kiln gets it. */
  readonly telemetry: Telemetry;
  /** Exports the spans ended so far; tracing goes on. */
  flush(): Promise<void>;
  /** Exports what is left and stops: later spans are dropped. */
  shutdown(): Promise<void>;
}

export interface StartTracingOptions {
  /**
   * How long ended spans wait to be batched before they are sent, ms. `OTEL_BSP_SCHEDULE_DELAY`
   * when unset, else the SDK's 5000; the tests use a short one.
   */
  scheduledDelayMillis?: number;
}

/** Process-wide, as OpenTelemetry's own global provider is: queues and workers read it when they are made. */
let current: Tracing | undefined;

/**
 * Starts OpenTelemetry tracing with `config` and returns it; with undefined (`tracingConfig`
 * of an environment that leaves tracing off) it does nothing. The SDK, the exporter, the undici
 * instrumentation and bullmq-otel are imported only here, so a process that does not trace
 * never loads them.
 * Call it before making queues or workers: they read `bullmqTelemetry()` when constructed.
 * Starting twice returns the first.
 */
export async function startTracing(config: TracingConfig | undefined, options: StartTracingOptions = {}): Promise<Tracing | undefined> {
  if (current) return current;
  if (!config) return undefined;
  const [sdk, resources, semconv, undici, bullmqOtel] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/semantic-conventions"),
    import("@opentelemetry/instrumentation-undici"),
    import("bullmq-otel"),
  ]);
  const exporter = await createExporter(config);
  const resource = resources
    .resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: config.serviceName, [semconv.ATTR_SERVICE_VERSION]: kilnVersion() })
    // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME of the process environment win over the defaults above
    .merge(resources.detectResources({ detectors: [resources.envDetector, resources.processDetector, resources.hostDetector] }));
  const provider = new sdk.NodeTracerProvider({
    resource,
    spanProcessors: [
      new HousekeepingSpanFilter(new sdk.BatchSpanProcessor(exporter, { scheduledDelayMillis: options.scheduledDelayMillis })),
    ],
  });
  // W3C trace context and baggage: what bullmq-otel writes into jobs and undici into requests
  provider.register();
  // subscribes to undici's diagnostics channels: every provider call, download and webhook POST gets a
  // client span, and its request a `traceparent` header
  new undici.UndiciInstrumentation({
    // result URLs are presigned and webhook URLs may hold tokens: a trace keeps no query string, as the logs keep none
    startSpanHook: (request) => {
      const url = redactUrl(new URL(request.path, request.origin));
      return { "url.full": url, "url.query": url.includes("?") ? "…" : "" };
    },
  });
  current = {
    config,
    telemetry: new bullmqOtel.BullMQOtel({ tracerName: "bullmq" }),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
  return current;
}

async function createExporter(config: TracingConfig) {
  if (config.protocol === "http/json") {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
    return new OTLPTraceExporter({ url: config.url });
  }
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-proto");
  return new OTLPTraceExporter({ url: config.url });
}

/** BullMQ's `telemetry` option while tracing is on; undefined (BullMQ's untraced path) otherwise. */
export function bullmqTelemetry(): Telemetry | undefined {
  return current?.telemetry;
}

/** Sends the spans ended so far (a command about to exit); nothing when tracing is off. */
export async function flushTracing(): Promise<void> {
  await current?.flush();
}

/** Sends what is left and stops tracing (the end of a graceful shutdown); nothing when tracing is off. */
export async function shutdownTracing(): Promise<void> {
  const tracing = current;
  current = undefined;
  await tracing?.shutdown();
}
