import { z } from "zod";
import type { TracingConfig } from "../telemetry/tracing.js";
import { configErrorOf } from "./errors.js";
import { presentVariables, processEnvironment } from "./process-env.js";

// Tracing: the standard OTEL_* variables, read apart from the rest since the SDK reads most of them itself

/** The OTLP encodings kiln can send: the two OTLP/HTTP ones (gRPC is not shipped). */
const OtlpProtocol = z.enum(["http/protobuf", "http/json"], {
  message: "expected http/protobuf or http/json (kiln sends OTLP over HTTP; grpc is not supported)",
});

/** OTLP/HTTP goes to an http:// or https:// URL (a bare `host:port` would parse as a URL of scheme `host:`). */
const OtlpUrl = z
  .string()
  .trim()
  .regex(/^https?:\/\/[^/]/i, { message: "expected an http:// or https:// URL" })
  .pipe(z.url({ message: "expected an http:// or https:// URL" }));

/**
 * The standard `OTEL_*` variables that decide whether kiln traces and where to. The rest
 * (headers, timeout, compression, sampler, batch sizes, resource attributes) the OpenTelemetry
 * SDK reads from the process environment itself.
 */
export const TracingEnvironment = z.object({
  /** `true` turns tracing off even with an endpoint. Default false. */
  OTEL_SDK_DISABLED: z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ["true", "false"].includes(v), { message: "expected true or false" })
    .optional(),
  /** Only `otlp` (the default) and `none` (tracing off) make sense for kiln's one exporter. */
  OTEL_TRACES_EXPORTER: z.enum(["otlp", "none"], { message: "expected otlp or none" }).optional(),
  /** The base URL of an OTLP/HTTP receiver; spans go to its `/v1/traces`. Unset by default: no tracing. */
  OTEL_EXPORTER_OTLP_ENDPOINT: OtlpUrl.optional(),
  /** The full traces URL, used as given; wins over the base endpoint. Unset by default. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: OtlpUrl.optional(),
  /** `http/protobuf` (default) or `http/json`. */
  OTEL_EXPORTER_OTLP_PROTOCOL: OtlpProtocol.optional(),
  /** The same for traces alone; wins over `OTEL_EXPORTER_OTLP_PROTOCOL`. */
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: OtlpProtocol.optional(),
  /** The spans' `service.name`. Default `kiln`. */
  OTEL_SERVICE_NAME: z.string().trim().optional(),
});

/**
 * Reads the tracing variables of `env`: undefined when tracing is off, which it is unless
 * `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and neither
 * `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`). A malformed value throws a
 * ConfigError naming the variable. Empty values count as unset, as everywhere in kiln.
 */
export function tracingConfig(env: NodeJS.ProcessEnv = processEnvironment()): TracingConfig | undefined {
  const parsed = TracingEnvironment.safeParse(presentVariables(env, (name) => name.startsWith("OTEL_")));
  if (!parsed.success) throw configErrorOf(parsed.error);
  const vars = parsed.data;
  if (vars.OTEL_SDK_DISABLED === "true" || vars.OTEL_TRACES_EXPORTER === "none") return undefined;
  const url = vars.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? signalUrl(vars.OTEL_EXPORTER_OTLP_ENDPOINT);
  if (url === undefined) return undefined;
  return {
    url,
    // the specification's default; the SDK's exporters agree
    protocol: vars.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? vars.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf",
    serviceName: vars.OTEL_SERVICE_NAME ?? "kiln",
  };
}

/** The base endpoint names a collector; traces go to its `/v1/traces`, as the specification says. */
function signalUrl(base: string | undefined): string | undefined {
  if (base === undefined) return undefined;
  return `${base.replace(/\/+$/, "")}/v1/traces`;
}
