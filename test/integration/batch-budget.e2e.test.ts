import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { PriceTable } from "../../src/billing/price-table.js";
import { BudgetLedger } from "../../src/billing/budget-ledger.js";
import { parseDecimal } from "../../src/billing/decimal-amount.js";
import { childJobId } from "../../src/batches/batch-ids.js";
import { BatchResultLine } from "../../src/contract/batch-summary.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { storedText } from "../support/archive-check.js";
import { kiln } from "../support/kiln-cli.js";
import { createLogger } from "../../src/logger.js";
import { startHttpServer } from "../../src/server/index.js";
import { untilRedisConnected } from "../fixtures/http-api-client.js";

/** Test prices, not real ones. */
const PRICES = `
currency: CNY
prices:
  tokenhub:
    hy-image-v3.0: { per_image: 0.1 }
  wcode:
    hunyuan-lite: { per_1k_prompt_tokens: 0.001, per_1k_completion_tokens: 0.002 }
`;

describe("a batch's budget", () => {
  let dir: string;
  let prices: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kiln-budget-"));
    prices = join(dir, "prices.yaml");
    await writeFile(prices, PRICES);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  let h: KilnHarness;
  afterEach(() => h.close());

  it("kiln bulk --budget: the jobs that fit run and cost; the rest end budget_exhausted without reaching the provider", async () => {
    h = await new KilnHarness().start({ env: { KILN_PRICES: prices } });
    // ten images at 0.10 against 0.35: three fit (0.30), a fourth would pass the cap
    const lines = Array.from({ length: 10 }, (_, i) =>
      JSON.stringify({ custom_id: `img-${i}`, provider: "tokenhub", model: "hy-image-v3.0", input: { prompt: `budget image ${i}` } }),
    );
    // a model without a price cannot run in a budgeted batch: refused at enqueue
    lines.push(JSON.stringify({ custom_id: "lite", provider: "tokenhub", model: "hy-image-lite", input: { prompt: "unpriced" } }));
    const manifest = join(dir, "budget.jsonl");
    await writeFile(manifest, lines.join("\n") + "\n");

    const out = await kiln(["bulk", manifest, "--batch-id", "capped", "--budget", "0.35", "--webhook", h.receiver.url, "--wait"], h.rawEnv);
    // an invalid line and jobs the budget stopped: exit 1
    expect(out.code, out.stderr).toBe(1);
    expect(out.stderr).toContain("line 11: budget: tokenhub hy-image-lite has no price in KILN_PRICES");
    expect(out.stdout).toContain("batch capped: 10 jobs (10 new), 1 invalid lines");
    expect(out.stdout).toMatch(/batch capped completed \(stopped by its budget\): 3 completed, 7 failed, 1 invalid lines; cost 0\.30 CNY;/);

    const status = (await h.client.getBatch("capped"))!;
    const summary = status.summary!;
    expect(summary).toMatchObject({
      counts: { total: 10, completed: 3, failed: 7, invalid: 1 },
      reason: "budget_exhausted",
      totals: { usage: { images: 3 }, cost: { amount: "0.30", currency: "CNY" }, uncosted: 0 },
      budget: { limit: "0.35", currency: "CNY", spent: "0.30" },
    });
    // every reservation was settled: nothing is left reserved
    expect(status.budget).toEqual({ limit: "0.35", currency: "CNY", spent: "0.30", reserved: "0.00", exhausted: true });

    const results = (await storedText(h.workers!.store, summary.results.key))
      .trim()
      .split("\n")
      .map((l) => BatchResultLine.parse(JSON.parse(l)));
    const completed = results.filter((r) => r.status === "completed");
    const stopped = results.filter((r) => r.status === "failed");
    expect(completed).toHaveLength(3);
    for (const line of completed) {
      expect(line.cost).toEqual({ amount: "0.10", currency: "CNY" });
      expect(line.usage).toEqual({ source: "outputs", images: 1 });
      expect(line.outputs).toHaveLength(1);
    }
    expect(stopped.map((r) => r.error?.code)).toEqual(Array(7).fill("budget_exhausted"));
    expect(stopped[0]!.error!.message).toMatch(/budget is spent or reserved \(limit 0\.35 CNY.*\): this job was not submitted/);

    // the provider saw exactly the three that ran, and none of the stopped ones
    const submitted = h.simulator
      .stats()
      .submissions.map((s) => s.prompt)
      .sort();
    expect(submitted).toEqual(completed.map((r) => `budget image ${r.custom_id.slice(4)}`).sort());

    await h.receiver.waitFor((r) => r.some((d) => d.payload.type === "batch.completed"));
    const hook = h.receiver.received.find((d) => d.payload.type === "batch.completed")!;
    expect(hook.payload.data).toEqual(JSON.parse(JSON.stringify(summary)));
  }, 60_000);

  it("a text job's reservation is its max_tokens, settled down to the tokens it used", async () => {
    h = await new KilnHarness().start({ env: { KILN_PRICES: prices } });
    const client = h.client;
    const table = PriceTable.load(prices);
    const requests = ["a", "b"].map((id) => ({
      custom_id: id,
      provider: "wcode",
      model: "hunyuan-lite",
      input: { messages: [{ role: "user", content: `budget text ${id}` }], max_tokens: 1000 },
    }));
    // each reserves at most 2.0 of completion tokens plus its prompt's bytes: both fit under 5
    const enqueued = await client.enqueueBatch(requests, { batchId: "text-budget", budget: "5", prices: table });
    expect(enqueued).toMatchObject({ total: 2, invalid: 0 });
    let status = await client.getBatch("text-budget");
    for (; status?.state !== "completed"; status = await client.getBatch("text-budget")) await new Promise((r) => setTimeout(r, 50));
    const summary = status.summary!;
    expect(summary.reason).toBeUndefined();
    expect(summary.counts).toMatchObject({ completed: 2, failed: 0 });
    // what was spent is the sum of the two answers' token costs, far below what was reserved
    expect(status.budget).toMatchObject({ spent: summary.totals!.cost!.amount, reserved: "0.00", exhausted: false });
    expect(Number(summary.totals!.cost!.amount)).toBeLessThan(0.01);
  });

  it("POST /v1/batches with a budget, and GET /v1/batches/{id} with the ledger and the totals, over three partitions", async () => {
    const token = "http-budget-token-0123456789";
    // the batch's ledger lives in its partition ({…-1} for this id), where its children's workers must find it
    h = await new KilnHarness().start({ env: { KILN_PRICES: prices, KILN_API_TOKEN: token, KILN_PARTITIONS: "3" } });
    const http = await startHttpServer(h.env, createLogger({ level: "silent" }), { port: 0, host: "127.0.0.1" });
    try {
      await untilRedisConnected(http.url);
      const call = (method: string, path: string, body?: unknown) =>
        fetch(`${http.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
      const requests = [0, 1, 2, 3].map((i) => ({
        custom_id: `h${i}`,
        provider: "tokenhub",
        model: "hy-image-v3.0",
        input: { prompt: `http budget ${i}` },
      }));
      requests.splice(1, 0, { custom_id: "lite", provider: "tokenhub", model: "hy-image-lite", input: { prompt: "unpriced" } });
      // four images at 0.10 against 0.25: two run
      const created = await call("POST", "/v1/batches", { id: "http-capped", requests, budget: "0.25" });
      expect(created.status).toBe(201);
      expect(created.headers.get("location")).toBe("/v1/batches/http-capped");
      expect(await created.json()).toMatchObject({
        batchId: "http-capped",
        total: 4,
        invalid: 1,
        invalidRequests: [{ index: 1, message: expect.stringContaining("budget: tokenhub hy-image-lite has no price") }],
      });
      let status: { state: string; budget?: unknown; summary?: Record<string, unknown> };
      do {
        await new Promise((r) => setTimeout(r, 100));
        status = (await (await call("GET", "/v1/batches/http-capped")).json()) as typeof status;
      } while (status.state !== "completed");
      expect(status.budget).toEqual({ limit: "0.25", currency: "CNY", spent: "0.20", reserved: "0.00", exhausted: true });
      expect(status.summary).toMatchObject({
        counts: { total: 4, completed: 2, failed: 2, invalid: 1 },
        reason: "budget_exhausted",
        totals: { usage: { images: 2 }, cost: { amount: "0.20", currency: "CNY" }, uncosted: 0 },
      });
      expect(h.simulator.stats().submissions).toHaveLength(2);
    } finally {
      await http.close();
    }
  });

  it("a worker that died between reserving and submitting: the re-run keeps that reservation, and the end settles it", async () => {
    h = await new KilnHarness().start({ workers: false, env: { KILN_PRICES: prices } });
    const redis = new Redis(h.env.REDIS_URL);
    try {
      // what the dead worker left: the batch's ledger with a hold for child c0, and no state saying so
      const ledger = new BudgetLedger(redis, h.prefix);
      await ledger.open("crashed", parseDecimal("0.15")!, "CNY");
      expect(await ledger.reserve("crashed", childJobId("crashed", "c0"), parseDecimal("0.1"), Date.now() + 3_600_000)).toBe("reserved");
      const requests = ["c0", "c1"].map((id) => ({
        custom_id: id,
        provider: "tokenhub",
        model: "hy-image-v3.0",
        input: { prompt: `crash ${id}` },
      }));
      await h.client.enqueueBatch(requests, { batchId: "crashed", budget: "0.15", prices: PriceTable.load(prices) });
      await h.startWorkers();
      let status = await h.client.getBatch("crashed");
      for (; status?.state !== "completed"; status = await h.client.getBatch("crashed")) await new Promise((r) => setTimeout(r, 50));
      // counted twice, c0 would not fit beside its own old hold; counted once, c0 runs and c1 does not
      const results = (await storedText(h.workers!.store, status.summary!.results.key))
        .trim()
        .split("\n")
        .map((l) => BatchResultLine.parse(JSON.parse(l)));
      expect(Object.fromEntries(results.map((r) => [r.custom_id, r.error?.code ?? r.status]))).toEqual({
        c0: "completed",
        c1: "budget_exhausted",
      });
      expect(status.budget).toEqual({ limit: "0.15", currency: "CNY", spent: "0.10", reserved: "0.00", exhausted: true });
      expect(h.simulator.stats().submissions.map((s) => s.prompt)).toEqual(["crash c0"]);
    } finally {
      await redis.quit();
    }
  });

  it("refuses a budget without a price table, and a budget that is not an amount", async () => {
    h = await new KilnHarness().start({ workers: false });
    const line = { custom_id: "x", provider: "tokenhub", model: "hy-image-v3.0", input: { prompt: "x" } };
    await expect(h.client.enqueueBatch([line], { batchId: "no-prices", budget: "1" })).rejects.toThrow(
      /budget: needs the operator's price table/,
    );
    await expect(
      h.client.enqueueBatch([line], { batchId: "bad-budget", budget: "twenty", prices: PriceTable.load(prices) }),
    ).rejects.toThrow(/budget: expected a decimal amount/);
  });
});
