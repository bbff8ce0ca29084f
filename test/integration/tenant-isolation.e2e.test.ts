import { randomBytes, randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIRECTIVES } from "@kiln/dev-tools";
import { createLogger } from "../../src/logger.js";
import { startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { API_TOKEN, call, eventually, untilRedisConnected } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";

const silent = createLogger({ level: "silent" });
const STUDIO = "studio-token-0123456789abcdef";
const NIGHTLY = "nightly-token-0123456789abcdef";
const STUDIO_SECRET = `whsec_${randomBytes(24).toString("base64")}`;

describe("tenant-bound tokens (KILN_API_TOKENS): each tenant reaches its own jobs and batches only", () => {
  const h = new KilnHarness();
  let http: RunningHttpServer;
  /** Studio's jobs and batch, made with studio's token. */
  const studio = { completed: "", failed: "", delayed: "", batch: "" };
  let nightlyJob = "";

  const as = (token: string) => ({
    get: (path: string, headers: Record<string, string> = {}) =>
      fetch(new URL(path, http.url), { headers: { authorization: `Bearer ${token}`, ...headers } }),
    post: (path: string, json: unknown = {}) => call(http.url, "POST", path, { json, token }),
    read: (path: string) => call(http.url, "GET", path, { token }),
  });

  beforeAll(async () => {
    await h.start({
      archive: "local",
      env: {
        KILN_API_TOKEN: API_TOKEN,
        KILN_API_TOKENS: `studio:${STUDIO},nightly:${NIGHTLY}`,
        KILN_TENANT_WEBHOOK_SECRETS: `studio:${STUDIO_SECRET}`,
      },
    });
    http = await startHttpServer(h.env, silent, { port: 0, host: "127.0.0.1" });
    await untilRedisConnected(http.url);
    const created = await as(STUDIO).post("/v1/generations", h.request("hy-image-v3.0"));
    studio.completed = created.body.id as string;
    const failed = await as(STUDIO).post(
      "/v1/generations",
      h.request("hy-image-v3.0", { prompt: `refused ${DIRECTIVES.fail} ${randomUUID()}` }),
    );
    studio.failed = failed.body.id as string;
    studio.batch = `studio-batch-${Date.now()}`;
    expect(
      (await as(STUDIO).post("/v1/batches", { id: studio.batch, requests: [{ ...h.request("hy-image-v3.0"), custom_id: "one" }] })).status,
    ).toBe(201);
    nightlyJob = (await as(NIGHTLY).post("/v1/generations", h.request("hy-image-v3.0"))).body.id as string;
    // a job that stays delayed, so a cancel would find it open
    const queue = new Queue("generate-tokenhub", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
    studio.delayed = `studio-delayed-${randomUUID()}`;
    await queue.add("generate", { ...h.request("hy-image-v3.0"), tenant: "studio" }, { jobId: studio.delayed, delay: 3_600_000 });
    await queue.close();
    for (const id of [studio.completed, studio.failed, nightlyJob]) await h.client.waitFor(id, { timeoutMs: 20_000 });
    await eventually(
      () => as(STUDIO).read(`/v1/batches/${studio.batch}`),
      (a) => a.body.state === "completed",
    );
  }, 60_000);
  afterAll(async () => {
    await http?.close();
    await h.close();
  });

  it("a bound token writes as its tenant: a body naming none or its own gets it, one naming another is refused 403", async () => {
    expect((await as(STUDIO).read(`/v1/generations/${studio.completed}`)).body.tenant).toBe("studio");
    const own = await as(STUDIO).post("/v1/generations", { ...h.request("hy-image-v3.0"), tenant: "studio" });
    expect([own.status, own.body.tenant]).toEqual([201, "studio"]);
    const other = await as(STUDIO).post("/v1/generations", { ...h.request("hy-image-v3.0"), tenant: "nightly" });
    expect(other.status).toBe(403);
    expect(other.body.error).toEqual({ code: "forbidden", message: 'tenant: this token writes as tenant studio only, not "nightly"' });
    const batch = await as(STUDIO).post("/v1/batches", {
      id: `b-${Date.now()}`,
      tenant: "nightly",
      requests: [{ ...h.request("hy-image-v3.0"), custom_id: "x" }],
    });
    expect(batch.status).toBe(403);
    expect((await as(STUDIO).read(`/v1/batches/${studio.batch}`)).body.tenant).toBe("studio");
    // the admin token writes as any tenant
    expect(
      (await call(http.url, "POST", "/v1/generations", { json: { ...h.request("hy-image-v3.0"), tenant: "nightly" }, token: API_TOKEN }))
        .status,
    ).toBe(201);
  });

  it("an id another tenant uses answers 409 without naming its queue, and another tenant's batch id is neither read nor added to", async () => {
    const taken = await as(NIGHTLY).post("/v1/generations", { ...h.request("hy-image-v3.0"), id: studio.completed, provider: "tokenhub" });
    expect(taken.status).toBe(409);
    expect(taken.body.error.message).toBe(`id ${studio.completed} is already used by a different request; choose another id`);
    const batch = await as(NIGHTLY).post("/v1/batches", {
      id: studio.batch,
      requests: [{ ...h.request("hy-image-v3.0"), custom_id: "mine" }],
    });
    expect(batch.status).toBe(409);
    expect(batch.body).toEqual({
      error: { code: "conflict", message: `batch id ${studio.batch} is already used by another batch; choose another id` },
    });
    const after = await as(STUDIO).read(`/v1/batches/${studio.batch}`);
    expect([after.body.tenant, after.body.total]).toEqual(["studio", 1]);
  });

  it("every read route answers another tenant's job or batch as it answers an unknown id (404), and its owner's as usual", async () => {
    const routes = (ids: { job: string; batch: string }) => [
      `/v1/generations/${ids.job}`,
      `/v1/generations/${ids.job}/outputs/0`,
      `/v1/generations/${ids.job}/events`,
      `/v1/batches/${ids.batch}`,
      `/v1/batches/${ids.batch}/events`,
    ];
    const theirs = routes({ job: studio.completed, batch: studio.batch });
    const unknown = routes({ job: "no-such-job", batch: "no-such-batch" });
    for (const [i, path] of theirs.entries()) {
      const answer = await as(NIGHTLY).get(path);
      const missing = await as(NIGHTLY).get(unknown[i]!);
      expect(answer.status, path).toBe(404);
      const body = (await answer.json()) as { error: { code: string; message: string } };
      const missingBody = (await missing.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("not_found");
      // the same words, with the id: nothing tells another tenant's id from no id
      expect(body.error.message.replace(/no (generation|batch) \S+/, "no $1 X")).toBe(
        missingBody.error.message.replace(/no (generation|batch) \S+/, "no $1 X"),
      );
    }
    for (const path of theirs) {
      const answer = await as(STUDIO).get(path);
      await answer.body?.cancel();
      expect(answer.status, path).toBeLessThan(400);
    }
  });

  it("cancel and retry of another tenant's job answer 404 and change nothing; the owner's token can do both", async () => {
    const cancel = await as(NIGHTLY).post(`/v1/generations/${studio.delayed}/cancel`, { reason: "not mine" });
    expect(cancel.status).toBe(404);
    expect((await h.client.get(studio.delayed))?.state).toBe("delayed");
    const retry = await as(NIGHTLY).post(`/v1/generations/${studio.failed}/retry`);
    expect(retry.status).toBe(404);
    expect((await h.client.get(studio.failed))?.state).toBe("failed");

    expect((await as(STUDIO).post(`/v1/generations/${studio.delayed}/cancel`, { reason: "withdrawn" })).status).toBe(202);
    expect((await as(STUDIO).post(`/v1/generations/${studio.failed}/retry`)).status).toBe(202);
  });

  it("listings hold the token's tenant only, whatever ?tenant= says; unbound tokens list every tenant and may filter", async () => {
    const tenantsOf = async (token: string, query = "") =>
      new Set(((await as(token).read(`/v1/generations?limit=100${query}`)).body.data as Array<{ tenant: string }>).map((g) => g.tenant));
    expect(await tenantsOf(NIGHTLY)).toEqual(new Set(["nightly"]));
    expect(await tenantsOf(NIGHTLY, "&tenant=studio")).toEqual(new Set());
    expect(await tenantsOf(STUDIO, "&tenant=studio")).toEqual(new Set(["studio"]));
    expect(await tenantsOf(API_TOKEN)).toEqual(new Set(["studio", "nightly"]));
    expect(await tenantsOf(API_TOKEN, "&tenant=nightly")).toEqual(new Set(["nightly"]));
    const batchesOf = async (token: string) => ((await as(token).read("/v1/batches")).body.data as Array<{ id: string }>).map((b) => b.id);
    expect(await batchesOf(NIGHTLY)).toEqual([]);
    expect(await batchesOf(STUDIO)).toContain(studio.batch);
  });

  it("a tenant's webhooks are signed with its own secret (KILN_TENANT_WEBHOOK_SECRETS); other tenants' with KILN_WEBHOOK_SECRET", async () => {
    await h.receiver.waitFor((r) => [studio.completed, nightlyJob].every((id) => r.some((d) => d.payload.data.id === id)));
    const delivery = (id: string) => h.receiver.received.find((d) => d.payload.data.id === id)!;
    const verifies = (secret: string, d: { body: string; headers: Record<string, string> }) => {
      try {
        new Webhook(secret).verify(d.body, d.headers);
        return true;
      } catch {
        return false;
      }
    };
    expect([verifies(STUDIO_SECRET, delivery(studio.completed)), verifies(h.secret, delivery(studio.completed))]).toEqual([true, false]);
    expect([verifies(STUDIO_SECRET, delivery(nightlyJob)), verifies(h.secret, delivery(nightlyJob))]).toEqual([false, true]);
  });
});
