import type { FastifyInstance } from "fastify";
import type { RedisConnection } from "../queue/redis.js";
import { apiError } from "./api-error.js";
import { checkArchive, checkRedis, checkWorkers, type ReadinessCheck } from "./readiness.js";

export interface HealthRoutesOptions {
  redis: RedisConnection;
  /** Set inside `kiln worker`: readiness then also needs the workers running. */
  workersRunning: (() => boolean) | undefined;
  /** Set inside `kiln worker`: readiness then also needs the archive to take a put (a cached probe). */
  archiveReady: (() => Promise<ReadinessCheck>) | undefined;
  readinessTimeoutMs: number;
}

/** `/healthz`: the process answers. `/readyz`: it can do its work (Redis, and the workers and the archive when it has them). */
export function registerHealthRoutes(app: FastifyInstance, options: HealthRoutesOptions): void {
  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_request, reply) => {
    const checks: Record<string, ReadinessCheck> = { redis: await checkRedis(options.redis, options.readinessTimeoutMs) };
    if (options.workersRunning) checks.workers = checkWorkers(options.workersRunning);
    if (options.archiveReady) checks.archive = await checkArchive(options.archiveReady, options.readinessTimeoutMs);
    const failing = Object.entries(checks).filter(([, check]) => !check.ok);
    if (failing.length === 0) return { status: "ready", checks };
    void reply.code(503);
    return { ...apiError("not_ready", failing.map(([name, check]) => `${name}: ${check.error}`).join("; ")), checks };
  });
}
