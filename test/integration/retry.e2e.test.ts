import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIRECTIVES } from "@kiln/dev-tools";
import { createLogger } from "../../src/logger.js";
import { startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { childJobId } from "../../src/batches/batch-ids.js";
import { API_TOKEN, call } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { kiln } from "../support/kiln-cli.js";

describe("retry: a failed job runs again under its id, as a new run", () => {
  const h = new KilnHarness();
  let http: RunningHttpServer;
  const cli = (args: string[]) => kiln(args, { REDIS_URL: h.env.REDIS_URL, KILN_PREFIX: h.prefix });
  const webhookIds = (id: string) => h.receiver.of(id).map((d) => [d.payload.type, d.headers["webhook-id"]]);

  beforeAll(async () => {
    await h.start({ workers: false, env: { KILN_API_TOKEN: API_TOKEN } });
    http = await startHttpServer(h.env, createLogger({ level: "silent" }), { port: 0, host: "127.0.0.1" });
  });
  afterAll(async () => {
    await http?.close();
    await h.close();
  });

  /** Workers on or off, whatever they were. */
  async function workers(on: boolean): Promise<void> {
    if (on) {
      if (!h.workers) await h.startWorkers();
      return;
    }
    await h.workers?.close();
    h.workers = undefined;
  }

  /** Ends `id` as failed/cancelled: cancelled while no worker runs, then ended by workers started for it. */
  async function cancelledRun(id: string): Promise<void> {
    await workers(false);
    expect((await h.client.cancel(id)).cancelled).toBe(true);
    await workers(true);
    expect((await h.client.waitFor(id, { timeoutMs: 10_000 })).result?.error?.code).toBe("cancelled");
  }

  it("`kiln retry` starts a new run: the cancel request is cleared, each run's webhooks have new webhook-ids, and the job completes", async () => {
    const id = "retry-cancelled";
    const request = h.request("hy-image-lite");
    await h.client.enqueue(request, { id });
    await cancelledRun(id);
    await h.receiver.waitFor(() => h.receiver.of(id).length === 1);

    await workers(false);
    const retried = await cli(["retry", id, "--json"]);
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toEqual({ retried: true, id, provider: "tokenhub", run: 2 });
    expect(await h.client.get(id)).toMatchObject({ state: "waiting", run: 2 });
    // the second run fails too: its generation.failed is a new event, not a duplicate the queue drops
    await cancelledRun(id);
    await h.receiver.waitFor(() => h.receiver.of(id).length === 2);

    // the cancel request that ended run 2 is still there: the retry clears it, or run 3 would end at once
    const third = await cli(["retry", id]);
    expect([third.code, third.stdout.trim()]).toEqual([0, `retrying ${id} on tokenhub (run 3)`]);
    const status = await h.client.waitFor(id, { timeoutMs: 10_000 });
    expect(status).toMatchObject({ state: "completed", run: 3, result: { status: "completed" } });
    await h.receiver.waitFor(() => h.receiver.of(id).length === 3);
    const ids = webhookIds(id);
    expect(ids.map(([type]) => type)).toEqual(["generation.failed", "generation.failed", "generation.completed"]);
    expect(new Set(ids.map(([, webhookId]) => webhookId)).size).toBe(3);
    // only the run that was not cancelled reached the provider
    expect(h.simulator.stats().submissions.filter((s) => s.prompt === request.input.prompt)).toHaveLength(1);
  });

  it("refuses a completed job (exit 4, naming its state) and a job still waiting; an unknown id is exit 3", async () => {
    await workers(true);
    const done = await h.client.enqueue(h.request("hy-image-lite"), { id: "retry-completed" });
    expect((await h.client.waitFor(done, { timeoutMs: 10_000 })).state).toBe("completed");
    const completed = await cli(["retry", done]);
    expect(completed.code).toBe(4);
    expect(completed.stderr.trim()).toBe(`kiln: ${done} is completed; only a failed job can be retried`);
    expect(completed.stdout).toBe("");
    const json = await cli(["retry", done, "--json"]);
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout)).toMatchObject({ retried: false, state: "completed", reason: "not_failed" });

    await workers(false);
    const waiting = await h.client.enqueue(h.request("hy-image-lite"), { id: "retry-waiting" });
    expect(await cli(["retry", waiting])).toMatchObject({
      code: 4,
      stderr: `kiln: ${waiting} is waiting; only a failed job can be retried\n`,
    });
    const unknown = await cli(["retry", "no-such-job"]);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([3, "kiln: no job no-such-job"]);
  });

  it("of retries at once exactly one runs the job again; the others are refused (exit 4)", async () => {
    await workers(true);
    const request = h.request("hy-image-v3.0", { prompt: `retry race ${DIRECTIVES.fail} ${Date.now()}` });
    const id = await h.client.enqueue(request, { id: "retry-race" });
    expect((await h.client.waitFor(id, { timeoutMs: 10_000 })).state).toBe("failed");
    // no worker while they race: a retried job waits, so a late retry cannot find it failed again
    await workers(false);
    const [a, b, ...inProcess] = await Promise.all([
      cli(["retry", id]),
      cli(["retry", id]),
      h.client.retry(id),
      h.client.retry(id),
      h.client.retry(id),
    ]);
    const retried = [a.code === 0, b.code === 0, ...inProcess.map((o) => o?.retried === true)];
    expect(retried.filter(Boolean)).toHaveLength(1);
    expect([a.code, b.code].sort()).toEqual(retried[0] || retried[1] ? [0, 4] : [4, 4]);
    expect(await h.client.get(id)).toMatchObject({ state: "waiting", run: 2 });
    await workers(true);
    expect(await h.client.waitFor(id, { timeoutMs: 10_000 })).toMatchObject({ state: "failed", run: 2 });
    expect(h.simulator.stats().submissions.filter((s) => s.prompt === request.input.prompt)).toHaveLength(2);
  });

  it("refuses a batch's job: its batch's counts and results were written from the run that failed", async () => {
    await workers(true);
    const prompt = `batch ${DIRECTIVES.fail} ${Date.now()}`;
    await h.client.enqueueBatch([{ ...h.request("hy-image-v3.0", { prompt }), custom_id: "only" }], { batchId: "retry-batch" });
    const child = childJobId("retry-batch", "only");
    expect((await h.client.waitFor(child, { timeoutMs: 10_000 })).state).toBe("failed");
    const refused = await cli(["retry", child]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain(`kiln: ${child} belongs to batch retry-batch; a batch's jobs cannot be retried one by one`);
  });

  it("POST /v1/generations/{id}/retry: 202 with the new run, 409 for a job that did not fail, 404 for none, 401 without the token", async () => {
    await workers(true);
    const failed = await h.client.enqueue(h.request("hy-image-v3.0", { prompt: `http ${DIRECTIVES.fail} ${Date.now()}` }), {
      id: "retry-http",
    });
    expect((await h.client.waitFor(failed, { timeoutMs: 10_000 })).state).toBe("failed");
    const path = `/v1/generations/${failed}/retry`;
    expect((await call(http.url, "POST", path)).status).toBe(401);
    const accepted = await call(http.url, "POST", path, { token: API_TOKEN });
    expect([accepted.status, accepted.body]).toEqual([202, { retried: true, id: failed, provider: "tokenhub", run: 2 }]);
    expect((await h.client.waitFor(failed, { timeoutMs: 10_000 })).run).toBe(2);
    const done = await h.client.enqueue(h.request("hy-image-lite"));
    await h.client.waitFor(done, { timeoutMs: 10_000 });
    const conflict = await call(http.url, "POST", `/v1/generations/${done}/retry`, { token: API_TOKEN });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ error: { code: "conflict", message: `${done} is completed; only a failed job can be retried` } });
    expect((await call(http.url, "POST", "/v1/generations/nope/retry", { token: API_TOKEN })).status).toBe(404);
  });
});
