import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { isRedisFullError } from "../../src/contract/redis-full-error.js";
import { startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { startKilnWorkers } from "../../src/workers/kiln-workers.js";
import { API_TOKEN, untilRedisConnected } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { startRedisProcess, type RedisProcessHandle } from "../support/redis-server.js";
import { until } from "../support/until.js";

const BIN = fileURLToPath(new URL("../../bin/kiln.js", import.meta.url));
const silent = createLogger({ level: "silent" });

/**
 * Redis at `maxmemory` with `noeviction`, as kiln requires: it refuses writes. Producers hear a
 * clear refusal (the client's `RedisFullError`, HTTP 503 `redis_full`, CLI exit 5), the jobs
 * already accepted wait, and everything goes on by itself once memory is freed.
 */
describe("Redis full (maxmemory, noeviction)", () => {
  const h = new KilnHarness();
  let redis: RedisProcessHandle;
  let admin: Redis;
  let http: RunningHttpServer;

  beforeAll(async () => {
    redis = await startRedisProcess({ extraArgs: ["--maxmemory-policy", "noeviction"] });
    admin = new Redis(redis.url);
    await h.start({ workers: false, env: { REDIS_URL: redis.url, KILN_API_TOKEN: API_TOKEN } });
    http = await startHttpServer(h.env, silent, { port: 0, host: "127.0.0.1" });
    h.workers = await startKilnWorkers(h.env, silent, { webhookSchedule: [100, 200, 400], rawEnv: h.rawEnv });
    await untilRedisConnected(http.url);
  });
  afterAll(async () => {
    await admin.config("SET", "maxmemory", "0").catch(() => undefined);
    await http?.close();
    await h.close();
    await admin.quit();
    await redis.stop();
  });

  /**
   * Redis past its maxmemory, for good until it is raised: a maxmemory below what it holds (a
   * filled Redis frees a little after each refused write, and would let small ones through).
   */
  async function fill(): Promise<void> {
    const used = Number(/used_memory:(\d+)/.exec(await admin.info("memory"))![1]);
    await admin.config("SET", "maxmemory", String(used - 256 * 1024));
    await expect(admin.set("probe", "x")).rejects.toThrow(/^OOM command not allowed/);
  }

  it("refuses new work clearly, loses none it accepted, and resumes by itself when memory is freed", async () => {
    const prompts = Array.from({ length: 12 }, (_, i) => `accepted ${i} ${Date.now()} [sim:ms=1500]`);
    const accepted = await Promise.all(prompts.map((prompt) => h.client.enqueue(h.request("hy-image-v3.0", { prompt }))));
    await until(
      "every accepted job submitted",
      () => h.simulator.stats().submissions.filter((s) => prompts.includes(s.prompt)).length === 12,
    );

    await fill();
    // the client: a typed error, naming what was refused
    const refused = await h.client.enqueue(h.request("hy-image-v3.0")).catch((err: unknown) => err);
    expect(isRedisFullError(refused), String(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/^Redis is full \(maxmemory reached\): the request .+ was not accepted/);
    // HTTP: 503 redis_full, with when to come back
    const answer = await fetch(`${http.url}/v1/generations`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(h.request("hy-image-v3.0")),
    });
    expect(answer.status).toBe(503);
    expect(answer.headers.get("retry-after")).toBe("30");
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe("redis_full");
    // the CLI: exit 5, one line saying why
    const cli = spawnSync(process.execPath, [BIN, "enqueue", "--model", "hy-image-v3.0", "--input", '{"prompt":"full"}'], {
      env: { PATH: process.env.PATH ?? "", ...h.rawEnv },
      encoding: "utf8",
    });
    expect(cli.status, cli.stderr).toBe(5);
    expect(cli.stderr.trim()).toMatch(/^kiln: Redis is full \(maxmemory reached\)/);

    // the accepted jobs' tasks end meanwhile; the workers cannot write, and give up none of them
    // longer than a lock (KILN_LOCK_DURATION, 10 s): the jobs held when Redis filled up stall, and are not lost for it
    await new Promise((r) => setTimeout(r, 14_000));
    for (const id of accepted) expect((await h.client.get(id))?.state).not.toBe("failed");

    // memory freed (here: maxmemory raised): everything goes on without a restart
    await admin.config("SET", "maxmemory", "0");
    const statuses = await Promise.all(accepted.map((id) => h.client.waitFor(id, { timeoutMs: 60_000 })));
    expect(statuses.map((s) => s.state)).toEqual(accepted.map(() => "completed"));
    // each task submitted once, each job heard of once by its webhook
    expect(h.simulator.stats().submissions.filter((s) => prompts.includes(s.prompt))).toHaveLength(12);
    await h.receiver.waitFor(() => accepted.every((id) => h.receiver.of(id).some((d) => d.payload.type === "generation.completed")));
    for (const id of accepted) {
      const completions = h.receiver.of(id).filter((d) => d.payload.type === "generation.completed");
      expect(new Set(completions.map((d) => d.headers["webhook-id"])).size).toBe(1);
    }
    expect(await h.client.waitFor(await h.client.enqueue(h.request("hy-image-v3.0")), { timeoutMs: 20_000 })).toMatchObject({
      state: "completed",
    });
  });
});
