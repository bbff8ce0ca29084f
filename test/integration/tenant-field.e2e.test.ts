import { writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { isInvalidRequestError } from "../../src/contract/invalid-request-error.js";
import { startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { API_TOKEN, call, eventually, untilRedisConnected } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { kiln } from "../support/kiln-cli.js";

const silent = createLogger({ level: "silent" });

describe("a tenant on every request: job data, HTTP, CLI, client and batches", () => {
  const h = new KilnHarness();
  let http: RunningHttpServer;

  beforeAll(async () => {
    await h.start({ env: { KILN_API_TOKEN: API_TOKEN } });
    http = await startHttpServer(h.env, silent, { port: 0, host: "127.0.0.1" });
    await untilRedisConnected(http.url);
  });
  afterAll(async () => {
    await http?.close();
    await h.close();
  });

  const get = (path: string) => call(http.url, "GET", path, { token: API_TOKEN });

  it("HTTP: the tenant a request names is in its status, its result and its webhook; none means default", async () => {
    const named = await call(http.url, "POST", "/v1/generations", {
      json: { ...h.request("hy-image-v3.0"), tenant: "studio-app" },
      token: API_TOKEN,
    });
    const plain = await call(http.url, "POST", "/v1/generations", { json: h.request("hy-image-v3.0"), token: API_TOKEN });
    expect([named.status, plain.status]).toEqual([201, 201]);
    expect([named.body.tenant, plain.body.tenant]).toEqual(["studio-app", "default"]);
    const ended = await Promise.all(
      [named.body.id as string, plain.body.id as string].map((id) =>
        eventually(
          () => get(`/v1/generations/${id}`),
          (a) => a.body.state === "completed",
        ),
      ),
    );
    expect(ended.map((a) => [a.body.tenant, a.body.result.tenant])).toEqual([
      ["studio-app", "studio-app"],
      ["default", "default"],
    ]);
    await h.receiver.waitFor((r) => [named.body.id, plain.body.id].every((id) => r.some((d) => d.payload.data.id === id)));
    const tenantsHeard = [named.body.id, plain.body.id].map(
      (id) => h.receiver.received.find((d) => d.payload.data.id === id)!.payload.data.tenant,
    );
    expect(tenantsHeard).toEqual(["studio-app", "default"]);
  });

  it("HTTP and the client refuse a tenant that breaks the rule, naming the field", async () => {
    for (const tenant of ["Studio", "", "-lead", "a".repeat(64), "a b", 7]) {
      const answer = await call(http.url, "POST", "/v1/generations", { json: { ...h.request("hy-image-v3.0"), tenant }, token: API_TOKEN });
      expect(answer.status, JSON.stringify(tenant)).toBe(400);
      expect(answer.body.error.message).toMatch(/tenant/);
    }
    const refused = await h.client.enqueue({ ...h.request("hy-image-v3.0"), tenant: "No Such" }).catch((err: unknown) => err);
    expect(isInvalidRequestError(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/^tenant: must be 1-63 characters/);
  });

  it("kiln enqueue --tenant sets it; a --file naming another tenant is exit 2 naming both", async () => {
    const enqueued = await kiln(
      ["enqueue", "--model", "hy-image-v3.0", "--input", '{"prompt":"a kiln"}', "--tenant", "batch-svc", "--json"],
      h.rawEnv,
    );
    expect(enqueued.code, enqueued.stderr).toBe(0);
    const { id } = JSON.parse(enqueued.stdout) as { id: string };
    expect((await h.client.get(id))?.tenant).toBe("batch-svc");

    const dir = await mkdtemp(join(tmpdir(), "kiln-tenant-"));
    const file = join(dir, "request.json");
    await writeFile(file, JSON.stringify({ ...h.request("hy-image-v3.0"), tenant: "other" }));
    const conflicting = await kiln(["enqueue", "--file", file, "--tenant", "batch-svc"], h.rawEnv);
    expect(conflicting.code).toBe(2);
    expect(conflicting.stderr.trim()).toBe('kiln: --tenant: batch-svc, but the request names tenant "other"');
  });

  it("a batch's jobs take its tenant; a line naming another tenant is refused alone; the batch and its summary say the tenant", async () => {
    const id = `tenant-batch-${Date.now()}`;
    const line = (custom_id: string, extra: Record<string, unknown> = {}) => ({ ...h.request("hy-image-v3.0"), custom_id, ...extra });
    const answer = await call(http.url, "POST", "/v1/batches", {
      json: {
        id,
        tenant: "pipeline",
        webhook: { url: h.receiver.url },
        requests: [line("a"), line("b", { tenant: "pipeline" }), line("c", { tenant: "studio-app" })],
      },
      token: API_TOKEN,
    });
    expect(answer.status).toBe(201);
    expect(answer.body.total).toBe(2);
    expect(answer.body.invalidRequests).toEqual([
      { index: 2, message: "tenant: a batch's requests take the batch's tenant (pipeline); set the batch's tenant instead" },
    ]);
    const ended = await eventually(
      () => get(`/v1/batches/${id}`),
      (a) => a.body.state === "completed",
      30_000,
    );
    expect(ended.body.tenant).toBe("pipeline");
    expect(ended.body.summary.tenant).toBe("pipeline");
    const listed = await get(`/v1/generations?batch=${id}`);
    expect(listed.body.data.map((g: { tenant: string }) => g.tenant)).toEqual(["pipeline", "pipeline"]);

    // a batch without a tenant is the default tenant's: a line may say so, not name another
    const plainId = `plain-batch-${Date.now()}`;
    const plain = await call(http.url, "POST", "/v1/batches", {
      json: { id: plainId, requests: [line("a", { tenant: "default" }), line("b", { tenant: "pipeline" })] },
      token: API_TOKEN,
    });
    expect(plain.body.total).toBe(1);
    expect(plain.body.invalidRequests[0].message).toMatch(/^tenant: a batch's requests take the batch's tenant \(default\)/);
    expect((await get(`/v1/batches/${plainId}`)).body.tenant).toBe("default");
  });

  it("kiln bulk --tenant gives every line the tenant", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kiln-tenant-"));
    const manifest = join(dir, "m.jsonl");
    await writeFile(manifest, [1, 2].map((n) => JSON.stringify({ ...h.request("hy-image-v3.0"), custom_id: `l${n}` })).join("\n"));
    const batchId = `bulk-tenant-${Date.now()}`;
    const bulk = await kiln(["bulk", manifest, "--batch-id", batchId, "--tenant", "nightly"], h.rawEnv);
    expect(bulk.code, bulk.stderr).toBe(0);
    expect((await h.client.getBatch(batchId))?.tenant).toBe("nightly");
    const listed = await h.client.list({ batch: batchId });
    expect(listed.data.map((g) => g.tenant)).toEqual(["nightly", "nightly"]);
    // kiln list and kiln batch list filter by tenant, as the HTTP listings do
    const jobs = await kiln(["list", "--tenant", "nightly", "--limit", "100", "--json"], h.rawEnv);
    const jobIds = (JSON.parse(jobs.stdout) as { data: Array<{ id: string; tenant: string }> }).data;
    expect(new Set(jobIds.map((g) => g.tenant))).toEqual(new Set(["nightly"]));
    expect(jobIds.map((g) => g.id).sort()).toEqual(listed.data.map((g) => g.id).sort());
    const batches = await kiln(["batch", "list", "--tenant", "nightly", "--json"], h.rawEnv);
    expect((JSON.parse(batches.stdout) as { data: Array<{ id: string }> }).data.map((b) => b.id)).toEqual([batchId]);
  });
});
