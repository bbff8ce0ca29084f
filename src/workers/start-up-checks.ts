import { randomUUID } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Logger } from "pino";
import { ConfigError } from "../config/index.js";
import { isPublicAddress } from "../net/url-guard.js";
import { writableServers, type RedisConnection } from "../queue/redis.js";
import type { ArchiveStore } from "../storage/archive-store.js";
import { withTimeout } from "../util/with-timeout.js";

/** One start-up check's outcome: a line of the start-up log, a row of `kiln doctor`'s table. */
export interface CheckOutcome {
  check: "config" | "archive" | "redis" | "provider";
  /** Which one: the archive's location, a Redis server's `host:port`, a provider's base URL. */
  target: string;
  /** `fail` stops `kiln worker` (unless `KILN_STARTUP_CHECKS=warn`); `warn` is logged once. */
  status: "ok" | "warn" | "fail";
  detail: string;
}

/** Where the archive probe writes: under kiln's default archive prefix, so a prefix-scoped bucket policy is what is tested. */
const ARCHIVE_PROBE_PREFIX = "kiln/.kiln-probe";
/** BullMQ refuses older servers; below the recommended one it works with less. */
const REDIS_MINIMUM = "5.0.0";
const REDIS_RECOMMENDED = "6.2.0";
const PROBE_TIMEOUT_MS = 10_000;
const LOOKUP_TIMEOUT_MS = 5_000;

/** A fresh probe key; one process reuses its own, so a refused delete leaves one object, not one per probe. */
export function newProbeKey(): string {
  return `${ARCHIVE_PROBE_PREFIX}/${randomUUID()}`;
}

/**
 * Writes a small object under the archive prefix and deletes it: the bucket exists and kiln may
 * write there (or the local directory is writable). S3 refusing (no such bucket, access denied,
 * wrong region or credentials, no credentials at all) or a local error fails; no answer within
 * `timeoutMs` (the request is aborted), a 5xx, 408 or 429 only warns: archive steps retry those
 * until `KILN_ARCHIVE_DEADLINE`. A refused delete warns: kiln never deletes outputs, so a
 * write-only policy is enough, and the probe object stays.
 */
export async function probeArchive(store: ArchiveStore, key = newProbeKey(), timeoutMs = PROBE_TIMEOUT_MS): Promise<ArchiveProbe> {
  const outcome = (status: CheckOutcome["status"], detail: string, writable: boolean): ArchiveProbe => ({
    check: "archive",
    target: store.location,
    status,
    detail,
    writable,
  });
  try {
    await withTimeout(
      store.putBytes(key, "kiln start-up probe\n", "text/plain", { signal: AbortSignal.timeout(timeoutMs) }),
      timeoutMs,
      "put",
    );
  } catch (err) {
    const problem = describeError(err);
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((status !== undefined && status < 500 && status !== 408 && status !== 429) || (err as Error).name === "CredentialsProviderError")
      return outcome("fail", `put refused: ${problem}${s3Hint(err)}`, false);
    if (status === undefined && (err as NodeJS.ErrnoException).syscall !== undefined && !isNetworkError(err))
      return outcome("fail", `put failed: ${problem} (ARCHIVE_DIR must be a writable directory)`, false);
    return outcome("warn", `put got no answer: ${problem}; archive steps retry until KILN_ARCHIVE_DEADLINE`, false);
  }
  try {
    await withTimeout(store.delete(key, { signal: AbortSignal.timeout(timeoutMs) }), timeoutMs, "delete");
  } catch (err) {
    return outcome(
      "warn",
      `put works; delete of ${key} refused (${describeError(err)}): kiln needs only put, the probe object stays`,
      true,
    );
  }
  return outcome("ok", `put and delete under ${ARCHIVE_PROBE_PREFIX}/`, true);
}

/** The archive probe's outcome, and whether the put went through. */
export interface ArchiveProbe extends CheckOutcome {
  writable: boolean;
}

function s3Hint(err: unknown): string {
  switch ((err as Error).name) {
    case "NoSuchBucket":
      return " (the bucket does not exist: create it, or fix S3_BUCKET)";
    case "AccessDenied":
    case "Forbidden":
      return " (the credentials may not write under the prefix: S3_ACCESS_KEY_ID, the bucket policy)";
    case "InvalidAccessKeyId":
    case "SignatureDoesNotMatch":
      return " (S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY)";
    case "CredentialsProviderError":
      return " (no S3 credentials: S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY, or the AWS SDK's default chain)";
    case "PermanentRedirect":
    case "AuthorizationHeaderMalformed":
      return " (the bucket is in another region: S3_REGION)";
    default:
      return "";
  }
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);
function isNetworkError(err: unknown): boolean {
  return NETWORK_CODES.has((err as NodeJS.ErrnoException).code ?? "");
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const name = err.name !== "Error" ? err.name : code;
  return name && !err.message.includes(name) ? `${name}: ${err.message}` : err.message;
}

/**
 * Each Redis server kiln writes to (the one server, or every master of a Cluster): a version
 * BullMQ runs on, and `maxmemory-policy noeviction`, without which Redis may evict a job's keys
 * when full, and an evicted job is a lost job.
 */
async function checkRedisServers(redis: RedisConnection): Promise<CheckOutcome[]> {
  return Promise.all(
    writableServers(redis).map(async ({ node: target, server }): Promise<CheckOutcome> => {
      let info: string;
      try {
        info = (await withTimeout(Promise.all([server.info("server"), server.info("memory")]), PROBE_TIMEOUT_MS, "INFO")).join("\n");
      } catch (err) {
        return {
          check: "redis",
          target,
          status: "warn",
          detail: `INFO not answered (${describeError(err)}): version and eviction policy unchecked`,
        };
      }
      return redisOutcome(target, infoField(info, "redis_version"), infoField(info, "maxmemory_policy"));
    }),
  );
}

/** The verdict on one server's version and eviction policy (either may be unreported). */
export function redisOutcome(target: string, version: string | undefined, policy: string | undefined): CheckOutcome {
  const outcome = (status: CheckOutcome["status"], detail: string): CheckOutcome => ({ check: "redis", target, status, detail });
  const seen = `Redis ${version ?? "(version not reported)"}, maxmemory-policy ${policy ?? "(not reported)"}`;
  if (version !== undefined && compareVersions(version, REDIS_MINIMUM) < 0)
    return outcome("fail", `${seen}: BullMQ needs Redis ${REDIS_MINIMUM} or later`);
  if (policy !== undefined && policy !== "noeviction")
    return outcome("fail", `${seen}: set maxmemory-policy noeviction, or Redis may evict jobs when full (docs/operations.md, "Redis")`);
  if (version === undefined || policy === undefined) return outcome("warn", `${seen}: INFO did not say, so unchecked`);
  if (compareVersions(version, REDIS_RECOMMENDED) < 0) return outcome("warn", `${seen}: BullMQ recommends ${REDIS_RECOMMENDED} or later`);
  return outcome("ok", seen);
}

function infoField(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:([^\\r\\n]*)`, "m").exec(info)?.[1]?.trim() || undefined;
}

function compareVersions(a: string, b: string): number {
  const [pa, pb] = [a, b].map((v) => v.split(".").map((n) => Number.parseInt(n, 10) || 0));
  for (let i = 0; i < 3; i++) if ((pa![i] ?? 0) !== (pb![i] ?? 0)) return (pa![i] ?? 0) - (pb![i] ?? 0);
  return 0;
}

export type HostLookup = (hostname: string) => Promise<string[]>;
const dnsLookup: HostLookup = async (hostname) => (await lookup(hostname, { all: true })).map((a) => a.address);

/**
 * Each provider base URL's host, resolved: kiln calls provider APIs wherever they are, but
 * downloads result URLs only from public addresses unless `KILN_ALLOW_PRIVATE_URLS=true`. A base
 * URL on a private address warns that results served from there (kiln simulate) will be refused,
 * said once here rather than by every job failing after its task ran. A host that does not
 * resolve warns: every call to it will fail until it does.
 */
export async function checkProviderUrls(
  bases: ReadonlyArray<{ provider: string; baseUrl: string }>,
  allowPrivate: boolean,
  resolve: HostLookup = dnsLookup,
): Promise<CheckOutcome[]> {
  return Promise.all(
    bases.map(async ({ provider, baseUrl }): Promise<CheckOutcome> => {
      const outcome = (status: CheckOutcome["status"], detail: string): CheckOutcome => ({
        check: "provider",
        target: `${provider} ${baseUrl}`,
        status,
        detail,
      });
      const host = new URL(baseUrl).hostname.replace(/^\[|\]$/g, "");
      let addresses: string[];
      try {
        addresses = isIP(host) ? [host] : await withTimeout(resolve(host), LOOKUP_TIMEOUT_MS, `lookup ${host}`);
      } catch (err) {
        return outcome("warn", `${host} does not resolve (${describeError(err)}): calls to ${provider} fail until it does`);
      }
      const private_ = addresses.filter((address) => !isPublicAddress(address));
      if (private_.length === 0) return outcome("ok", `${host}: public (${addresses.join(", ")})`);
      if (allowPrivate) return outcome("ok", `${host}: private (${private_.join(", ")}), allowed by KILN_ALLOW_PRIVATE_URLS`);
      return outcome(
        "warn",
        `${provider}'s base URL is on a private address (${private_.join(", ")}): kiln calls it, but downloads result URLs only from public ` +
          "addresses unless KILN_ALLOW_PRIVATE_URLS=true; if its results are served from there too (kiln simulate), every job will fail invalid_request",
      );
    }),
  );
}

/** What start-up checks: the archive, each Redis server and each provider base URL, at once. */
export async function runStartUpChecks(options: {
  store: ArchiveStore;
  /** The archive probe to run. @defaultValue `probeArchive(store)` with a fresh key */
  probe?: () => Promise<ArchiveProbe>;
  redis: RedisConnection;
  bases: ReadonlyArray<{ provider: string; baseUrl: string }>;
  allowPrivateUrls: boolean;
  resolve?: HostLookup;
}): Promise<[ArchiveProbe, ...CheckOutcome[]]> {
  const [archive, redis, providers] = await Promise.all([
    options.probe ? options.probe() : probeArchive(options.store),
    checkRedisServers(options.redis),
    checkProviderUrls(options.bases, options.allowPrivateUrls, options.resolve),
  ]);
  return [archive, ...redis, ...providers];
}

/**
 * Logs each warning once, and the passing checks in one info line. A failure stops start-up with
 * a ConfigError naming every failed check (`kiln worker` prints it as one `kiln:` line and exits
 * 2), unless `mode` is `warn`: then it is logged at error and start-up goes on.
 */
export function enforceStartUpChecks(outcomes: readonly CheckOutcome[], mode: "strict" | "warn", log: Logger): void {
  const failed = outcomes.filter((o) => o.status === "fail");
  for (const o of outcomes.filter((o) => o.status === "warn"))
    log.warn({ check: o.check, target: o.target }, `start-up check: ${o.detail}`);
  if (failed.length > 0 && mode === "strict")
    throw new ConfigError(
      `start-up check failed: ${failed.map((o) => `${o.check} ${o.target}: ${o.detail}`).join("; ")} (KILN_STARTUP_CHECKS=warn starts anyway)`,
    );
  for (const o of failed) log.error({ check: o.check, target: o.target }, `start-up check failed (KILN_STARTUP_CHECKS=warn): ${o.detail}`);
  log.info({ checks: outcomes.map((o) => `${o.check} ${o.target}: ${o.status}`) }, "start-up checks");
}
