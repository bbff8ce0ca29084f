import { z } from "zod";
import { DEFAULT_ARCHIVE_MEMORY } from "./storage/archive-memory-budget.js";
import { DEFAULT_MAX_JOB_BYTES } from "./producers/job-size.js";
import { RetryScheduleText } from "./webhooks/retry-schedule.js";
import { prefixProblem, workerPartitions } from "./partitions.js";
import { parseClusterNodes, redisTargetOf, type RedisTarget } from "./redis.js";
import type { TracingConfig } from "./telemetry/tracing.js";

/** "true"/"false"/"1"/"0" (any case) as a boolean; anything else is an error naming the variable. */
const Flag = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ["true", "false", "1", "0", ""].includes(v), { message: "expected true or false" })
  .transform((v) => v === "true" || v === "1");

const Url = z.string().trim().url({ message: "expected a URL" });

/** A comma-separated list of base URLs, tried in order. */
const UrlList = z
  .string()
  .transform((v) =>
    v
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .pipe(z.array(Url).min(1, { message: "expected at least one URL" }));

const PositiveNumber = z.coerce.number().positive({ message: "expected a positive number" });

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** A duration such as `500ms`, `20s`, `15m` or `2h` (a bare number is seconds), as milliseconds. */
export const Duration = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?(ms|s|m|h)?$/, { message: "expected a duration such as 500ms, 20s, 15m or 2h" })
  .transform((v) => {
    const [, amount = "0", unit = "s"] = /^([\d.]+)(ms|s|m|h)?$/.exec(v) ?? [];
    return Math.round(Number(amount) * DURATION_UNITS_MS[unit as keyof typeof DURATION_UNITS_MS]);
  });

const BYTE_UNITS = { "": 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 } as const;

/** A size such as `192MiB`, `64m` or `1GiB` (binary units; a bare number is bytes), as bytes. */
export const ByteSize = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^\d+(\.\d+)?\s*(k|kib|m|mib|g|gib)?$/, { message: "expected a size such as 192MiB, 64m or 1GiB" })
  .transform((v) => {
    const [, amount = "0", unit = ""] = /^([\d.]+)\s*([a-z]*)$/.exec(v) ?? [];
    return Math.floor(Number(amount) * BYTE_UNITS[unit as keyof typeof BYTE_UNITS]);
  });

/** A task deadline per model kind: a duration of at least a second. */
const Deadline = Duration.pipe(z.number().min(1000, { message: "expected at least 1s" }));

/** The most bytes one output may have: at least 1 KiB, at most 5 TiB (S3's largest object). */
const OutputSize = ByteSize.pipe(
  z
    .number()
    .min(1024, { message: "expected at least 1KiB" })
    .max(5 * 1024 ** 4, { message: "expected at most 5 TiB, S3's largest object" }),
);

/** The most time one download may take, redirects, headers and body together: 1 s to 24 h. */
const DownloadTimeout = Duration.pipe(
  z.number().min(1000, { message: "expected at least 1s" }).max(86_400_000, { message: "expected at most 24h" }),
);

/** What a submit whose outcome is unknown leads to: submit again (default) or fail the job. */
const UnknownSubmitPolicy = z.enum(["retry", "fail"]);

/**
 * The environment kiln reads, as a schema: every variable, its default and its check live
 * here, so a bad value stops start-up with a message that names the variable.
 */
export const Environment = z.object({
  REDIS_URL: Url.refine((u) => /^rediss?:\/\//.test(u), { message: "expected redis:// or rediss://" }).default("redis://127.0.0.1:6379"),
  // Redis Cluster (issue 10): when the seed nodes are set, REDIS_URL is ignored
  REDIS_CLUSTER_NODES: z
    .string()
    .transform((spec, ctx) => {
      try {
        const nodes = parseClusterNodes(spec);
        if (nodes.length === 0) ctx.addIssue({ code: "custom", message: "expected host:port,host:port,..." });
        return nodes;
      } catch (err) {
        ctx.addIssue({ code: "custom", message: `${(err as Error).message}: expected host:port,host:port,...` });
        return z.NEVER;
      }
    })
    .optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  REDIS_TLS: Flag.default(false),
  KILN_PREFIX: z
    .string()
    .min(1)
    .superRefine((v, ctx) => {
      const problem = prefixProblem(v);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .default("{kiln}"),
  KILN_PARTITIONS: z.coerce
    .number()
    .int({ message: "expected a whole number" })
    .min(1, { message: "expected 1 to 1024" })
    .max(1024, { message: "expected 1 to 1024" })
    .default(1),
  KILN_WORKER_PARTITIONS: z.string().optional(),
  S3_ENDPOINT: Url.optional(),
  S3_REGION: z.string().min(1).default("us-east-1"),
  S3_BUCKET: z.string().min(3).optional(),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: Flag.default(false),
  S3_CHECKSUMS: z.enum(["when_supported", "when_required"]).default("when_supported"),
  ARCHIVE_DIR: z.string().min(1).default("./kiln-archive"),
  // part buffers of all S3 archive uploads in this process together (docs/operations.md, "Archive memory")
  // a job's data as JSON: producers refuse a bigger request, workers fail a bigger job invalid_request
  KILN_MAX_JOB_BYTES: ByteSize.pipe(
    z
      .number()
      .min(1024, { message: "expected at least 1KiB" })
      .max(512 * 1024 ** 2, { message: "expected at most 512MiB" }),
  ).default(DEFAULT_MAX_JOB_BYTES),
  KILN_ARCHIVE_MEMORY: ByteSize.pipe(z.number().min(8 * 1024 ** 2, { message: "expected at least 8MiB" })).default(DEFAULT_ARCHIVE_MEMORY),
  TOKENHUB_API_KEY: z.string().min(1).optional(),
  TOKENHUB_BASE_URL: UrlList.default(["https://tokenhub.tencentmaas.com", "https://tokenhub.tencentmaas.cn"]),
  // providers (issue 3): a provider runs when its API key is set
  GATEWAY_API_KEY: z.string().min(1).optional(),
  GATEWAY_BASE_URL: UrlList.optional(),
  GATEWAY_SUBMIT_PATH: z
    .string()
    .regex(/^\/\S*$/, { message: "expected a path starting with /" })
    .default("/v1/chat/completions"),
  WCODE_API_KEY: z.string().min(1).optional(),
  WCODE_BASE_URL: UrlList.default(["https://wcode.net/api/gpt/v1"]),
  KILN_TOKENHUB_RATE: PositiveNumber.optional(),
  KILN_GATEWAY_RATE: PositiveNumber.optional(),
  KILN_WCODE_RATE: PositiveNumber.optional(),
  KILN_TOKENHUB_MAX_INFLIGHT: z.coerce.number().int().positive().optional(),
  KILN_GATEWAY_MAX_INFLIGHT: z.coerce.number().int().positive().optional(),
  KILN_WCODE_MAX_INFLIGHT: z.coerce.number().int().positive().optional(),
  // outcome-unknown submits (5xx, reset or timeout after sending, unreadable 2xx): retry or fail
  KILN_TOKENHUB_ON_UNKNOWN_SUBMIT: UnknownSubmitPolicy.default("retry"),
  KILN_GATEWAY_ON_UNKNOWN_SUBMIT: UnknownSubmitPolicy.default("retry"),
  KILN_WCODE_ON_UNKNOWN_SUBMIT: UnknownSubmitPolicy.default("retry"),
  // recovery after a crash: BullMQ's lock on an active job and its stalled check
  KILN_LOCK_DURATION: Duration.pipe(
    z.number().min(1000, { message: "expected at least 1s" }).max(600_000, { message: "expected at most 10m" }),
  ).optional(),
  KILN_STALLED_INTERVAL: Duration.pipe(
    z.number().min(500, { message: "expected at least 500ms" }).max(600_000, { message: "expected at most 10m" }),
  ).optional(),
  // status answers in a row no reading understands before the job fails bad_response
  KILN_MAX_BAD_ANSWERS: z.coerce
    .number()
    .int({ message: "expected a whole number" })
    .min(1, { message: "expected 1 to 1000" })
    .max(1000, { message: "expected 1 to 1000" })
    .default(5),
  // in-flight slots are leases: a holder is checked after this long, a waiting job looks again after it
  KILN_SLOT_LEASE: Duration.pipe(
    z.number().min(1000, { message: "expected at least 1s" }).max(3_600_000, { message: "expected at most 1h" }),
  ).default(25_000),
  // a worker that fetches nothing for this long while work is due is recreated; 0 turns the watchdog off
  KILN_FETCH_WATCHDOG: Duration.pipe(
    z.number().refine((ms) => ms === 0 || (ms >= 1000 && ms <= 3_600_000), { message: "expected 0 (off) or 1s to 1h" }),
  ).default(20_000),
  // how long a provider task may take, per model kind, counted from its first submit
  KILN_DEADLINE_IMAGE: Deadline.optional(),
  KILN_DEADLINE_VIDEO: Deadline.optional(),
  KILN_DEADLINE_3D: Deadline.optional(),
  KILN_DEADLINE_AUDIO: Deadline.optional(),
  KILN_DEADLINE_TEXT: Deadline.optional(),
  // downloads of outputs, per model kind: the most bytes one output may have and the most time its download may take
  KILN_MAX_OUTPUT_BYTES_IMAGE: OutputSize.optional(),
  KILN_MAX_OUTPUT_BYTES_VIDEO: OutputSize.optional(),
  KILN_MAX_OUTPUT_BYTES_3D: OutputSize.optional(),
  KILN_MAX_OUTPUT_BYTES_AUDIO: OutputSize.optional(),
  KILN_MAX_OUTPUT_BYTES_TEXT: OutputSize.optional(),
  KILN_DOWNLOAD_TIMEOUT_IMAGE: DownloadTimeout.optional(),
  KILN_DOWNLOAD_TIMEOUT_VIDEO: DownloadTimeout.optional(),
  KILN_DOWNLOAD_TIMEOUT_3D: DownloadTimeout.optional(),
  KILN_DOWNLOAD_TIMEOUT_AUDIO: DownloadTimeout.optional(),
  KILN_DOWNLOAD_TIMEOUT_TEXT: DownloadTimeout.optional(),
  // how long archiving retries after the provider finished, before the job fails with archive_failed
  KILN_ARCHIVE_DEADLINE: Deadline.optional(),
  // graceful close: visits in progress get this long, then they are abandoned to the stalled check
  KILN_SHUTDOWN_TIMEOUT: Duration.pipe(z.number().min(0).max(3_600_000, { message: "expected at most 1h" })).default(20_000),
  KILN_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, { message: "expected whsec_ followed by a base64 secret" })
    .optional(),
  KILN_ALLOW_PRIVATE_URLS: Flag.default(false),
  KILN_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(50),
  KILN_POLL_SCALE: PositiveNumber.max(100).default(1),
  // when to poll a pending task: learned per model (adaptive) or today's 1.5x backoff (fixed)
  KILN_POLL_SCHEDULE: z.enum(["fixed", "adaptive"], { message: 'expected "fixed" or "adaptive"' }).default("adaptive"),
  // HTTP (issue 5): the API and /metrics; unset port means no HTTP server in `kiln worker`
  KILN_HTTP_PORT: z.coerce
    .number()
    .int({ message: "expected a port number" })
    .min(0, { message: "expected 0 to 65535" })
    .max(65_535, { message: "expected 0 to 65535" })
    .optional(),
  KILN_API_TOKEN: z.string().min(16, { message: "expected at least 16 characters (a random token)" }).optional(),
  // reads (GET /v1/generations/{id}, /v1/batches/{id}) need KILN_READ_TOKEN or KILN_API_TOKEN unless public
  KILN_READ_TOKEN: z.string().min(16, { message: "expected at least 16 characters (a random token)" }).optional(),
  KILN_PUBLIC_READS: Flag.default(false),
  // the dashboard (issue 11): off without a token; read-only unless KILN_ADMIN_WRITE
  KILN_ADMIN_TOKEN: z.string().min(16, { message: "expected at least 16 characters (it guards every job's data)" }).optional(),
  KILN_ADMIN_WRITE: Flag.default(false),
  // usage and cost (issue 11): the operator's price table, a JSON or YAML file (docs/configuration.md)
  KILN_PRICES: z.string().trim().min(1).optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  // webhooks (issue 4): unset means the webhook worker's defaults (Svix's schedule, 15 s)
  KILN_WEBHOOK_RETRY_SCHEDULE: RetryScheduleText.optional(),
  // the largest provider API answer read (JSON); a longer one is a bad_response, refused while reading
  KILN_MAX_ANSWER_BYTES: ByteSize.pipe(z.number().min(64 * 1024, { message: "expected at least 64KiB" })).optional(),
  KILN_WEBHOOK_TIMEOUT_MS: z.coerce
    .number()
    .int({ message: "expected whole milliseconds" })
    .min(100, { message: "expected 100 to 300000 ms" })
    .max(300_000, { message: "expected 100 to 300000 ms" })
    .optional(),
});
export type Environment = z.infer<typeof Environment>;

/** Thrown when the environment does not validate; its message names every bad variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** Structural marker: `instanceof` breaks across duplicated copies of this package. */
  readonly isConfigError = true;
}

/** The one way to say that variables are wrong: `invalid environment:` and a line per variable. */
export function configError(...problems: string[]): ConfigError {
  return new ConfigError(`invalid environment:\n  ${problems.join("\n  ")}`);
}

export function isConfigError(err: unknown): err is ConfigError {
  return typeof err === "object" && err !== null && (err as { isConfigError?: unknown }).isConfigError === true;
}

/** Reads and validates `env` (default `process.env`). Empty strings count as unset. */
export function loadEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = Environment.safeParse(present);
  if (parsed.success) return checkPartitions(checkProviders(checkS3(parsed.data)));
  const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  throw configError(...problems);
}

/** The partitions a worker consumes must exist. */
function checkPartitions(env: Environment): Environment {
  try {
    workerPartitions(env.KILN_WORKER_PARTITIONS, env.KILN_PARTITIONS);
  } catch (err) {
    throw configError(`${(err as Error).message} (KILN_PARTITIONS=${env.KILN_PARTITIONS})`);
  }
  return env;
}

/**
 * Where a producer finds kiln's queues: the Redis (or Redis Cluster) the environment names, the
 * prefix and the partitions (what `GenerationClient` takes; the CLI and HTTP server use it).
 */
export function queueLocationOf(env: Environment): { target: RedisTarget; prefix: string; partitions: number } {
  return { target: redisTargetOf(env), prefix: env.KILN_PREFIX, partitions: env.KILN_PARTITIONS };
}

/** Providers whose variables need each other. */
function checkProviders(env: Environment): Environment {
  if (env.GATEWAY_API_KEY && !env.GATEWAY_BASE_URL)
    throw configError("GATEWAY_BASE_URL: required when GATEWAY_API_KEY is set (the gateway's document names no host)");
  return env;
}

/**
 * Per-model in-flight caps: `KILN_<PROVIDER>_MAX_INFLIGHT_<MODEL>`, the model id upper-cased
 * with every character other than A-Z and 0-9 as `_` (wan2.7-t2v → WAN2_7_T2V).
 */
export function modelInflightCaps(env: NodeJS.ProcessEnv, provider: string): Map<string, number> {
  const prefix = `KILN_${provider.toUpperCase()}_MAX_INFLIGHT_`;
  const caps = new Map<string, number>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(prefix) || value === undefined || value === "") continue;
    const cap = Number(value);
    if (!Number.isInteger(cap) || cap < 1) throw configError(`${name}: expected a positive integer`);
    caps.set(name.slice(prefix.length), cap);
  }
  return caps;
}

/** The env-variable form of a model id. */
export function envModelName(modelId: string): string {
  return modelId.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}

/** S3 variables only make sense together: a bucket with half its credentials is a mistake. */
function checkS3(env: Environment): Environment {
  const hasKey = env.S3_ACCESS_KEY_ID !== undefined;
  const hasSecret = env.S3_SECRET_ACCESS_KEY !== undefined;
  if (hasKey !== hasSecret) {
    throw configError(
      `${hasKey ? "S3_SECRET_ACCESS_KEY" : "S3_ACCESS_KEY_ID"}: required when ${hasKey ? "S3_ACCESS_KEY_ID" : "S3_SECRET_ACCESS_KEY"} is set`,
    );
  }
  if (env.S3_ENDPOINT && !env.S3_BUCKET) {
    throw configError("S3_BUCKET: required when S3_ENDPOINT is set");
  }
  if (env.S3_BUCKET) checkPartsFit(env);
  return env;
}

/**
 * S3 allows 10,000 parts, so an output limit sets the part size (limit ÷ 10,000), and each
 * archive in flight holds up to five parts of the process's archive memory. A limit whose parts
 * cannot fit would fail every archive of its kind, so it is refused at start-up.
 */
function checkPartsFit(env: Environment): void {
  for (const kind of ["IMAGE", "VIDEO", "3D", "AUDIO", "TEXT"] as const) {
    const limit = env[`KILN_MAX_OUTPUT_BYTES_${kind}`];
    if (limit !== undefined && Math.ceil(limit / 10_000) * 5 > env.KILN_ARCHIVE_MEMORY)
      throw configError(
        `KILN_MAX_OUTPUT_BYTES_${kind}: its S3 parts (limit ÷ 10,000 parts, 5 in flight) do not fit KILN_ARCHIVE_MEMORY (${env.KILN_ARCHIVE_MEMORY} bytes); raise the memory or lower the limit (at most 2,000 × KILN_ARCHIVE_MEMORY)`,
      );
  }
}

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
  OTEL_SDK_DISABLED: z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ["true", "false"].includes(v), { message: "expected true or false" })
    .optional(),
  /** Only `otlp` (the default) and `none` make sense for kiln's one exporter. */
  OTEL_TRACES_EXPORTER: z.enum(["otlp", "none"], { message: "expected otlp or none" }).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: OtlpUrl.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: OtlpUrl.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: OtlpProtocol.optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: OtlpProtocol.optional(),
  OTEL_SERVICE_NAME: z.string().trim().optional(),
});

/**
 * Reads the tracing variables of `env`: undefined when tracing is off, which it is unless
 * `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and neither
 * `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`). A malformed value throws a
 * ConfigError naming the variable. Empty values count as unset, as everywhere in kiln.
 */
export function tracingConfig(env: NodeJS.ProcessEnv = process.env): TracingConfig | undefined {
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
