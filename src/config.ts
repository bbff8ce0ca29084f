import { z } from "zod";

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
  .transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(Url).min(1, { message: "expected at least one URL" }));

const PositiveNumber = z.coerce.number().positive({ message: "expected a positive number" });

/**
 * The environment kiln reads, as a schema: every variable, its default and its check live
 * here, so a bad value stops start-up with a message that names the variable.
 */
export const Environment = z.object({
  REDIS_URL: Url.default("redis://127.0.0.1:6379"),
  KILN_PREFIX: z
    .string()
    .min(1)
    .refine((v) => !v.includes(":"), { message: "must not contain ':'" })
    .default("{kiln}"),
  S3_ENDPOINT: Url.optional(),
  S3_REGION: z.string().min(1).default("us-east-1"),
  S3_BUCKET: z.string().min(3).optional(),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: Flag.default(false),
  S3_CHECKSUMS: z.enum(["when_supported", "when_required"]).default("when_supported"),
  ARCHIVE_DIR: z.string().min(1).default("./kiln-archive"),
  TOKENHUB_API_KEY: z.string().min(1).optional(),
  TOKENHUB_BASE_URL: UrlList.default(["https://tokenhub.tencentmaas.com", "https://tokenhub.tencentmaas.cn"]),
  KILN_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, { message: "expected whsec_ followed by a base64 secret" })
    .optional(),
  KILN_ALLOW_PRIVATE_URLS: Flag.default(false),
  KILN_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(50),
  KILN_POLL_SCALE: PositiveNumber.max(100).default(1),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});
export type Environment = z.infer<typeof Environment>;

/** Thrown when the environment does not validate; its message names every bad variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads and validates `env` (default `process.env`). Empty strings count as unset. */
export function loadEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = Environment.safeParse(present);
  if (parsed.success) return checkS3(parsed.data);
  const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  throw new ConfigError(`invalid environment:\n  ${problems.join("\n  ")}`);
}

/** S3 variables only make sense together: a bucket with half its credentials is a mistake. */
function checkS3(env: Environment): Environment {
  const hasKey = env.S3_ACCESS_KEY_ID !== undefined;
  const hasSecret = env.S3_SECRET_ACCESS_KEY !== undefined;
  if (hasKey !== hasSecret) {
    throw new ConfigError(`invalid environment:\n  ${hasKey ? "S3_SECRET_ACCESS_KEY" : "S3_ACCESS_KEY_ID"}: required when ${hasKey ? "S3_ACCESS_KEY_ID" : "S3_SECRET_ACCESS_KEY"} is set`);
  }
  if (env.S3_ENDPOINT && !env.S3_BUCKET) {
    throw new ConfigError("invalid environment:\n  S3_BUCKET: required when S3_ENDPOINT is set");
  }
  return env;
}
