import { z } from "zod";
import { configError } from "../config.js";

/** The OTLP encodings kiln can send: the two OTLP/HTTP ones (gRPC is not shipped). */
export const OtlpProtocol = z.enum(["http/protobuf", "http/json"], {
  message: "expected http/protobuf or http/json (kiln sends OTLP over HTTP; grpc is not supported)",
});
export type OtlpProtocol = z.infer<typeof OtlpProtocol>;

/** OTLP/HTTP goes to an http:// or https:// URL (a bare `host:port` would parse as a URL of scheme `host:`). */
const Url = z
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
  OTEL_SDK_DISABLED: z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ["true", "false"].includes(v), { message: "expected true or false" })
    .optional(),
  /** Only `otlp` (the default) and `none` make sense for kiln's one exporter. */
  OTEL_TRACES_EXPORTER: z.enum(["otlp", "none"], { message: "expected otlp or none" }).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: Url.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Url.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: OtlpProtocol.optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: OtlpProtocol.optional(),
  OTEL_SERVICE_NAME: z.string().trim().optional(),
});

/** What `startTracing` needs once tracing is on. */
export interface TracingConfig {
  /** Where spans are POSTed: the traces endpoint as given, or the base endpoint + `/v1/traces`. */
  url: string;
  protocol: OtlpProtocol;
  /** `service.name` of the spans. @defaultValue "kiln" (OTEL_SERVICE_NAME overrides) */
  serviceName: string;
}

/**
 * Reads the tracing variables of `env`: undefined when tracing is off, which it is unless
 * `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and neither
 * `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`). A malformed value throws a
 * ConfigError naming the variable. Empty values count as unset, as everywhere in kiln.
 */
export function tracingConfig(env: NodeJS.ProcessEnv): TracingConfig | undefined {
  const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith("OTEL_") && v !== undefined && v !== ""));
  const parsed = TracingEnvironment.safeParse(present);
  if (!parsed.success) throw configError(...parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
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
