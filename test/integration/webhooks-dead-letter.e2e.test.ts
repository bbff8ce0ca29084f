import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeadLetter, type DeliverySummary } from "../../src/webhooks/dead-letter.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { verifiedBySvix } from "../support/webhook-receiver.js";
import { kiln } from "../support/kiln-cli.js";

describe("the dead letter: failed deliveries are kept with every attempt, listed and replayed", () => {
  const h = new KilnHarness();
  let redis: Redis;
  let deadLetter: DeadLetter;
  /** Jobs whose deliveries the receiver refuses with 503 while it is "down". */
  const down = new Set<string>();

  const cli = (args: string[]) => kiln(args, { REDIS_URL: h.env.REDIS_URL, KILN_PREFIX: h.prefix });

  /** A generation whose completed event fails every attempt (the harness's schedule: 4 attempts). */
  async function failedDelivery(): Promise<{ id: string; deliveryId: string; summary: DeliverySummary }> {
    const id = await h.client.enqueue(h.request("hy-image-lite"));
    down.add(id);
    expect((await h.client.waitFor(id, { timeoutMs: 20_000 })).state).toBe("completed");
    const deliveryId = await h.deliveryIdOf(id);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const summary = await deadLetter.get(deliveryId);
      if (summary?.state === "failed") return { id, deliveryId, summary };
      if (Date.now() > deadline) throw new Error(`delivery of ${id} did not fail: ${JSON.stringify(summary)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  beforeAll(async () => {
    await h.start();
    h.receiver.status = (d) => (down.has(d.payload.data.id) ? 503 : 204);
    redis = new Redis(h.env.REDIS_URL);
    deadLetter = new DeadLetter({ connection: redis, prefix: h.prefix });
  });
  afterAll(async () => {
    await deadLetter.close();
    await redis.quit();
    await h.close();
  });

  it("keeps an exhausted delivery in the failed set with each attempt's status, error and time", async () => {
    const { id, summary } = await failedDelivery();
    expect(summary).toMatchObject({
      event: "generation.completed",
      jobId: id,
      host: new URL(h.receiver.url).host,
      attemptsMade: 4,
      failedReason: "gave up after 4 attempts: receiver answered 503",
      lastStatus: 503,
    });
    expect(summary.history).toHaveLength(4);
    for (const attempt of summary.history) {
      expect(attempt).toMatchObject({ status: 503, error: "receiver answered 503" });
      expect(Date.parse(attempt.at)).not.toBeNaN();
    }
    const times = summary.history.map((a) => Date.parse(a.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(JSON.stringify(summary)).not.toContain(h.secret.slice(6));
  });

  it("`kiln webhooks list --failed` prints id, host, event, attempts and the last status/error, and every attempt on request", async () => {
    const { id, deliveryId } = await failedDelivery();
    const { code, stdout } = await cli(["webhooks", "list", "--failed", "--attempts"]);
    expect(code).toBe(0);
    const row = stdout.split("\n").find((l) => l.startsWith(deliveryId));
    expect(row).toBeDefined();
    expect(row).toMatch(
      new RegExp(
        `failed\\s+generation\\.completed\\s+${id}\\s+${new URL(h.receiver.url).host}\\s+4\\s+503 gave up after 4 attempts: receiver answered 503$`,
      ),
    );
    const attemptLines = stdout.split("\n").slice(stdout.split("\n").indexOf(row!) + 1, stdout.split("\n").indexOf(row!) + 5);
    expect(attemptLines.map((l) => l.trim().split(/\s+/)[0])).toEqual(["#1", "#2", "#3", "#4"]);
    for (const line of attemptLines) expect(line).toMatch(/^\s+#\d\s+\d{4}-\d\d-\d\dT\S+\s+503\s+\d+ ms\s+receiver answered 503$/);
    const json = JSON.parse((await cli(["webhooks", "list", "--failed", "--json"])).stdout) as DeliverySummary[];
    expect(json.find((d) => d.id === deliveryId)?.history).toHaveLength(4);
  });

  it("`kiln webhooks replay <id>` delivers with the same webhook-id and body, on a fresh attempt budget", async () => {
    const { id, deliveryId } = await failedDelivery();
    const failedTries = h.receiver.of(id);
    expect(failedTries).toHaveLength(4);
    down.delete(id);
    const replay = await cli(["webhooks", "replay", deliveryId]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toContain(`replayed ${deliveryId}`);
    await h.receiver.waitFor(() => h.receiver.of(id).length === 5, 10_000);
    const delivered = h.receiver.of(id)[4]!;
    expect(delivered.answeredWith).toBe(204);
    expect(delivered.headers["webhook-id"]).toBe(failedTries[0]!.headers["webhook-id"]);
    expect(delivered.body).toBe(failedTries[0]!.body);
    expect(delivered.verified).toBe(true);
    expect(verifiedBySvix(delivered, h.secret)).toBe(true);
    const after = await deadLetter.get(deliveryId);
    expect(after).toMatchObject({ state: "completed", attemptsMade: 1 });
    expect(after!.history.map((a) => a.status)).toEqual([503, 503, 503, 503, 204]);
  });

  it("`kiln webhooks replay --all-failed` replays every failed delivery", async () => {
    const a = await failedDelivery();
    const b = await failedDelivery();
    down.clear();
    const failedBefore = (await deadLetter.list({ states: ["failed"], limit: 1000 })).length;
    const { code, stdout } = await cli(["webhooks", "replay", "--all-failed"]);
    expect(code).toBe(0);
    expect(stdout).toContain(`${failedBefore} of ${failedBefore} replayed`);
    await h.receiver.waitFor(() => [a.id, b.id].every((id) => h.receiver.of(id).at(-1)?.answeredWith === 204), 10_000);
    expect((await deadLetter.list({ states: ["failed"] })).length).toBe(0);
  });

  it("replay refuses unknown and unfinished deliveries, and the CLI needs an id or --all-failed", async () => {
    expect(await deadLetter.replay("no-such-delivery")).toEqual({ id: "no-such-delivery", replayed: false, reason: "no such delivery" });
    const id = await h.client.enqueue(h.request("hy-image-lite"));
    await h.client.waitFor(id, { timeoutMs: 20_000 });
    await h.receiver.waitFor(() => h.receiver.of(id).length === 1);
    const deliveryId = await h.deliveryIdOf(id);
    await new Promise((r) => setTimeout(r, 100));
    expect(await deadLetter.replay(deliveryId)).toEqual({
      id: deliveryId,
      replayed: false,
      reason: "it is completed, not failed",
      state: "completed",
    });
    const unknown = await cli(["webhooks", "replay", "nope"]);
    expect(unknown.code).toBe(3);
    expect(unknown.stdout).toContain("not replayed nope: no such delivery");
    expect((await cli(["webhooks", "replay"])).code).toBe(2);
  });
});
