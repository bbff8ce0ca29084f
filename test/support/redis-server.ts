/**
 * Test infrastructure: a real Redis for integration tests.
 *
 * Resolution order of `startRedis()`:
 *   (a) `REDIS_URL` from the environment (we do not own it, stop() is a no-op);
 *   (b) Docker via testcontainers (`redis:7-alpine`), only if a container
 *       runtime answers the probe;
 *   (c) `redis-server` from PATH, spawned on a free loopback port.
 *
 * Tests that must kill or restart Redis use `startRedisProcess()`, which always
 * spawns `redis-server`. It and the generic process helpers live in kiln's dev
 * tools (`@kiln/dev-tools`, also used by `kiln demo`) and are re-exported here
 * so test code has a single import site.
 *
 * The Docker probe costs ~400 ms the first time (importing testcontainers),
 * then ~0 ms.
 */
import { findExecutable, startRedisProcess } from "@kiln/dev-tools";

export {
  ManagedProcess,
  findExecutable,
  getFreePort,
  startRedisProcess,
  type RedisProcessHandle,
  type RedisProcessOptions,
} from "@kiln/dev-tools";

export interface RedisHandle {
  url: string;
  source: "env" | "docker" | "redis-server";
  stop(): Promise<void>;
}

/**
 * Is a container runtime (Docker, Podman, ...) reachable for testcontainers?
 * Without one, `getContainerRuntimeClient()` rejects within milliseconds
 * ("Could not find a working container runtime strategy").
 */
export async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** Message of an unknown thrown value, for one-line fallback/diagnostic notes. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Start (or locate) a Redis for the test run: REDIS_URL, then Docker, then redis-server. */
export async function startRedis(): Promise<RedisHandle> {
  const envUrl = process.env.REDIS_URL;
  if (envUrl) {
    return { url: envUrl, source: "env", stop: async () => {} };
  }

  if (await dockerAvailable()) {
    try {
      const { RedisContainer } = await import("@testcontainers/redis");
      const container = await new RedisContainer("redis:7-alpine").start();
      return {
        url: container.getConnectionUrl(),
        source: "docker",
        async stop() {
          await container.stop();
        },
      };
    } catch (err) {
      // Docker answered but the container did not come up (offline pull, ...): fall back.
      process.stderr.write(`[kiln tests] Docker Redis container failed (${errorMessage(err)}), falling back to redis-server\n`);
    }
  }

  if ((await findExecutable("redis-server")) === null) {
    throw new Error(
      "No Redis available for tests: REDIS_URL is not set, no Docker engine is reachable, " +
        "and redis-server is not on PATH. Install redis-server (e.g. `apt-get install redis-server`) " +
        "or set REDIS_URL=redis://host:port.",
    );
  }
  const proc = await startRedisProcess();
  return { url: proc.url, source: "redis-server", stop: () => proc.stop() };
}
