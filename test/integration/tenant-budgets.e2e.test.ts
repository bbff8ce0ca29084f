import { randomUUID } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIRECTIVES } from "@kiln/dev-tools";
import { createLogger } from "../../src/logger.js";
import { startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { API_TOKEN, call, untilRedisConnected } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { kiln } from "../support/kiln-cli.js";

const silent = createLogger({ level: "silent" });
const STUDIO = "studio-token-0123456789abcdef";

/** Test prices, not real ones: an image costs 0.1. */
const PRICES = `
currency: CNY
prices:
  tokenhub:
    hy-image-v3.0: { per_image: 0.1 }
`;

describe("tenant budgets (KILN_TENANT_BUDGETS), on the batch budgets' ledger", () => {
  const h = new KilnHarness();
  let http: RunningHttpServer;
  const today = new Date().toISOString().slice(0, 10);
  const month = today.slice(0, 7);

  beforeAll(async () => {
    const prices = join(await mkdtemp(join(tmpdir(), "kiln-tenant-budget-")), "prices.yaml");
    await writeFile(prices, PRICES);
    await h.start({
      archive: "local",
      env: {
        KILN_PRICES: prices,
        // studio: two images a day; pipeline: three a month; batchy: ten a day; any other tenant: one a day
        KILN_TENANT_BUDGETS:
          "studio/daily=0.2,pipeline/monthly=0.3,batchy/daily=1,both/daily=1,both/monthly=0.1,again/daily=0.1,*/daily=0.1",
        KILN_API_TOKEN: API_TOKEN,
        KILN_API_TOKENS: `studio:${STUDIO}`,
      },
    });
    http = await startHttpServer(h.env, silent, { port: 0, host: "127.0.0.1" });
    await untilRedisConnected(http.url);
  });
  afterAll(async () => {
    await http?.close();
    await h.close();
  });

  const run = async (tenant: string | undefined, count: number) => {
    const statuses = [];
    // one after another: each reservation sees what the one before it spent
    for (let i = 0; i < count; i++) {
      const id = await h.client.enqueue({ ...h.request("hy-image-v3.0"), ...(tenant ? { tenant } : {}) });
      statuses.push(await h.client.waitFor(id, { timeoutMs: 20_000 }));
    }
    return statuses;
  };

  it("a tenant's jobs run until its period's budget is spent, then end budget_exhausted naming it, unsubmitted", async () => {
    const submittedBefore = h.simulator.stats().submissions.length;
    const statuses = await run("studio", 3);
    expect(statuses.map((s) => s.result?.status)).toEqual(["completed", "completed", "failed"]);
    expect(statuses[2]!.result?.error?.code).toBe("budget_exhausted");
    expect(statuses[2]!.result?.error?.message).toBe(
      `tenant studio's daily budget for ${today} is spent or reserved (limit 0.20 CNY, spent 0.20, reserved 0.00): this job was not submitted`,
    );
    expect(h.simulator.stats().submissions.length - submittedBefore).toBe(2);
  });

  it("GET /v1/tenants/{id}/usage and kiln tenants show spend, reservations and remaining per period", async () => {
    const usage = await call(http.url, "GET", "/v1/tenants/studio/usage", { token: API_TOKEN });
    expect(usage.status).toBe(200);
    expect(usage.body).toEqual({
      tenant: "studio",
      periods: [
        { period: "daily", id: today, limit: "0.20", currency: "CNY", spent: "0.20", reserved: "0.00", remaining: "0.00", exhausted: true },
      ],
    });
    // the studio token reads its own tenant, and no other
    expect((await call(http.url, "GET", "/v1/tenants/studio/usage", { token: STUDIO })).status).toBe(200);
    const other = await call(http.url, "GET", "/v1/tenants/pipeline/usage", { token: STUDIO });
    expect([other.status, other.body.error.message]).toEqual([404, "no tenant pipeline"]);
    expect((await call(http.url, "GET", "/v1/tenants/Not%20A%20Tenant/usage", { token: API_TOKEN })).status).toBe(400);

    const cli = await kiln(["tenants", "studio", "nobudget-x", "--json"], h.rawEnv);
    expect(cli.code, cli.stderr).toBe(0);
    const answers = JSON.parse(cli.stdout) as Array<{ tenant: string; periods: Array<{ period: string; remaining: string }> }>;
    expect(answers.map((a) => [a.tenant, a.periods.map((p) => `${p.period} ${p.remaining}`)])).toEqual([
      ["studio", ["daily 0.00"]],
      // a tenant without its own budget has the * one
      ["nobudget-x", ["daily 0.10"]],
    ]);
    const table = await kiln(["tenants", "studio"], h.rawEnv);
    expect(table.stdout).toMatch(new RegExp(`^studio\\s+daily\\s+${today}\\s+0\\.20 CNY\\s+0\\.20\\s+0\\.00\\s+0\\.00\\s+exhausted$`, "m"));
  });

  it("a monthly budget, the * default for other tenants, and the default tenant are each their own account", async () => {
    expect((await run("pipeline", 4)).map((s) => s.result?.error?.code ?? "ok")).toEqual(["ok", "ok", "ok", "budget_exhausted"]);
    const pipeline = await call(http.url, "GET", "/v1/tenants/pipeline/usage", { token: API_TOKEN });
    expect(pipeline.body.periods).toEqual([
      { period: "monthly", id: month, limit: "0.30", currency: "CNY", spent: "0.30", reserved: "0.00", remaining: "0.00", exhausted: true },
    ]);
    expect((await run("walk-in", 2)).map((s) => s.result?.error?.code ?? "ok")).toEqual(["ok", "budget_exhausted"]);
    expect((await run(undefined, 2)).map((s) => s.result?.error?.code ?? "ok")).toEqual(["ok", "budget_exhausted"]);
  });

  it("a batch child reserves in its tenant's budget and in its batch's; a refusal by the batch gives the tenant's reservation back", async () => {
    const requests = [1, 2].map((n) => ({ ...h.request("hy-image-v3.0"), custom_id: `c${n}` }));
    // the tenant could pay for ten, the batch for one
    const answer = await call(http.url, "POST", "/v1/batches", {
      json: { id: `tb-${Date.now()}`, tenant: "batchy", budget: "0.1", requests },
      token: API_TOKEN,
    });
    expect(answer.status).toBe(201);
    const listed = async () => (await h.client.list({ tenant: "batchy" })).data;
    for (let i = 0; i < 100 && (await listed()).some((g) => g.state !== "completed" && g.state !== "failed"); i++)
      await new Promise((r) => setTimeout(r, 200));
    const codes = (await listed()).map((g) => g.result?.error?.code ?? "ok").sort();
    expect(codes).toEqual(["budget_exhausted", "ok"]);
    const usage = await call(http.url, "GET", "/v1/tenants/batchy/usage", { token: API_TOKEN });
    // the one that ran is spent; the refused one's tenant reservation was given back, not left held until it expires
    expect(usage.body.periods[0]).toMatchObject({ spent: "0.10", reserved: "0.00" });
  });

  it("a tenant limited by day and month: the month refusing gives back what the day reserved", async () => {
    expect((await run("both", 2)).map((s) => s.result?.error?.code ?? "ok")).toEqual(["ok", "budget_exhausted"]);
    const usage = await call(http.url, "GET", "/v1/tenants/both/usage", { token: API_TOKEN });
    expect(
      usage.body.periods.map((p: { period: string; spent: string; reserved: string; exhausted: boolean }) => [
        p.period,
        p.spent,
        p.reserved,
        p.exhausted,
      ]),
    ).toEqual([
      ["daily", "0.10", "0.00", false],
      ["monthly", "0.10", "0.00", true],
    ]);
  });

  it("a retried job's new run reserves again: a spent budget refuses it, where its first run's settled hold would have let it through", async () => {
    const failed = await h.client.enqueue({
      ...h.request("hy-image-v3.0", { prompt: `refused ${DIRECTIVES.fail} ${randomUUID()}` }),
      tenant: "again",
    });
    expect((await h.client.waitFor(failed, { timeoutMs: 20_000 })).result?.error?.code).toBe("task_failed");
    expect((await run("again", 1))[0]!.state).toBe("completed");
    expect((await h.client.retry(failed))?.retried).toBe(true);
    const rerun = await h.client.waitFor(failed, { timeoutMs: 20_000 });
    expect(rerun.result?.error?.code).toBe("budget_exhausted");
  });
});
