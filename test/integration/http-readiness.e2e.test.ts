import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadEnvironment } from "../../src/config/index.js";
import { createLogger } from "../../src/logger.js";
import { startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { getFreePort } from "@kiln/dev-tools";
import { startKilnWorkers } from "../../src/workers/kiln-workers.js";
import { API_TOKEN, call, eventually, sample } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";

const silent = createLogger({ level: "silent" });

describe("readiness and errors when Redis is unreachable", () => {
  let http: RunningHttpServer;

  beforeAll(async () => {
    // a port nothing listens on: the server starts, Redis never answers
    const closedPort = await getFreePort();
    const env = loadEnvironment({
      REDIS_URL: `redis://127.0.0.1:${closedPort}`,
      KILN_PREFIX: `{kiln-${randomUUID().slice(0, 8)}}`,
      KILN_API_TOKEN: API_TOKEN,
      LOG_LEVEL: "silent",
    });
    http = await startHttpServer(env, silent, { port: 0, host: "127.0.0.1" });
  });
  afterAll(() => http?.close());

  it("/healthz still answers 200 (the process is up)", async () => {
    expect((await call(http.url, "GET", "/healthz")).status).toBe(200);
  });

  it("/readyz answers 503 naming Redis", async () => {
    const answer = await call(http.url, "GET", "/readyz");
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe("not_ready");
    expect(answer.body.error.message).toMatch(/^redis: /);
    expect(answer.body.checks.redis.ok).toBe(false);
  });

  it("job reads and writes answer 503 at once instead of hanging", async () => {
    const started = Date.now();
    const read = await call(http.url, "GET", "/v1/generations/any-id", { token: API_TOKEN });
    expect(read.status).toBe(503);
    expect(read.body.error.code).toBe("unavailable");
    const write = await call(http.url, "POST", "/v1/generations", {
      json: { provider: "tokenhub", model: "hy-image-lite", input: { prompt: "x" }, id: "down-1" },
      token: API_TOKEN,
    });
    expect(write.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("/metrics still answers, with process metrics and no job counts", async () => {
    const answer = await call(http.url, "GET", "/metrics");
    expect(answer.status).toBe(200);
    expect(sample(answer.text, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(sample(answer.text, "kiln_jobs", { provider: "tokenhub", state: "waiting" })).toBeUndefined();
  });
});

describe("readiness inside kiln worker", () => {
  const h = new KilnHarness();
  let http: RunningHttpServer;

  beforeAll(async () => {
    await h.start({ workers: false, archive: "local" });
    http = await startHttpServer(h.env, silent, { port: 0, host: "127.0.0.1", workersRunning: () => h.workers?.isRunning() ?? false });
  });
  afterAll(async () => {
    await http?.close();
    await h.close();
  });

  it("is not ready before the workers start, ready while they run, not ready once they close", async () => {
    // the server's connection may still be connecting for a moment after start
    const before = await eventually(
      () => call(http.url, "GET", "/readyz"),
      (a) => a.body.checks.redis.ok === true,
    );
    expect(before.status).toBe(503);
    expect(before.body.error.message).toMatch(/^workers: /);
    expect(before.body.checks.redis.ok).toBe(true);

    h.workers = await startKilnWorkers(h.env, silent, { rawEnv: h.rawEnv });
    expect((await call(http.url, "GET", "/readyz")).status).toBe(200);

    await h.workers.close();
    const after = await call(http.url, "GET", "/readyz");
    expect(after.status).toBe(503);
    expect(after.body.checks).toMatchObject({ redis: { ok: true }, workers: { ok: false } });
    h.workers = undefined;
  });
});
