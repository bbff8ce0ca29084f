/**
 * Vitest globalSetup (runs once, in the main vitest process, before any test
 * file): starts one Redis and one S3 server for the whole run and hands their
 * coordinates to tests via `project.provide(...)`; tests read them with
 * `inject("redisUrl")` / `inject("s3")` (typed in ./vitest-provide.d.ts).
 * The returned function is the teardown, run after all test files finished.
 */
import type { TestProject } from "vitest/node";
import { startRedis, type RedisHandle } from "./redis-server.js";
import { startS3, type S3Handle } from "./s3-server.js";

/** Wall time of a start function (includes the shared Docker probe / testcontainers import, ~0.4 s). */
async function timed<T>(start: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await start();
  return { value, ms: Math.round(performance.now() - t0) };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The AWS SDK (3.1169) warns once per process under Node < 22 (support ends
  // in 2027); that is a product decision, not test output. The forks inherit this.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

  // Start both in parallel; if one fails, stop the other before rethrowing.
  const [redisResult, s3Result] = await Promise.allSettled([timed(startRedis), timed(startS3)]);
  if (redisResult.status === "rejected" || s3Result.status === "rejected") {
    if (redisResult.status === "fulfilled") await redisResult.value.value.stop().catch(() => {});
    if (s3Result.status === "fulfilled") await s3Result.value.value.stop().catch(() => {});
    const reasons = [redisResult, s3Result]
      .filter((r): r is PromiseRejectedResult => r.status === "rejected")
      .map((r) => (r.reason instanceof Error ? r.reason.message : String(r.reason)));
    throw new Error(`[kiln tests] test infrastructure failed to start:\n- ${reasons.join("\n- ")}`);
  }
  const redis: RedisHandle = redisResult.value.value;
  const s3: S3Handle = s3Result.value.value;

  process.stdout.write(
    `[kiln tests] redis: ${redis.source} on ${redis.url} (${redisResult.value.ms} ms)` +
      ` | s3: ${s3.source} on ${s3.endpoint} (bucket ${s3.bucket}, ${s3Result.value.ms} ms)\n`,
  );

  project.provide("redisUrl", redis.url);
  project.provide("s3", {
    endpoint: s3.endpoint,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    bucket: s3.bucket,
    forcePathStyle: s3.forcePathStyle,
  });

  return async () => {
    await Promise.allSettled([redis.stop(), s3.stop()]);
  };
}
