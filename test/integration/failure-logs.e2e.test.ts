import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIRECTIVES } from "@kiln/dev-tools";
import { generateQueueName } from "../../src/contract/queue-names.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { WorkerProcess } from "../support/worker-process.js";

interface LogLine {
  level: number;
  msg: string;
  jobId?: string;
  provider?: string;
  model?: string;
  code?: string;
  reason?: string;
  attempt?: number;
}

/** pino's JSON lines of the worker's output (anything else is ignored). */
function logLines(output: string[]): LogLine[] {
  return output
    .join("")
    .split("\n")
    .flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as unknown;
        return typeof parsed === "object" && parsed !== null && "level" in parsed ? [parsed as LogLine] : [];
      } catch {
        return [];
      }
    });
}

const WARN = 40;
const DEBUG = 20;

describe("a job that ends failed leaves one warn line in the worker's log; retries stay at debug", () => {
  const h = new KilnHarness();
  let worker: WorkerProcess;
  let raw: Queue;
  beforeAll(async () => {
    // one provider answer in three is a 500: retried, never the job's end
    await h.start({ archive: "local", workers: false, simulator: { serverErrorRate: 0.35 } });
    worker = await new WorkerProcess({ ...h.rawEnv, LOG_LEVEL: "debug" }).start();
    raw = new Queue(generateQueueName("tokenhub"), { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
  });
  afterAll(async () => {
    await raw?.close();
    await worker?.stop();
    await h.close();
  });

  it("task_failed, result_expired, cancelled and invalid_request each log their id, provider, model, code and reason once", async () => {
    const failed = await h.client.enqueue(h.request("hy-image-v3.0", { prompt: `a lighthouse ${DIRECTIVES.fail}` }));
    const expired = await h.client.enqueue(h.request("hy-image-v3.0", { prompt: `a harbour ${DIRECTIVES.expire}` }));
    const slow = await h.client.enqueue(h.request("hy-video-1.5", { prompt: `a long shot ${DIRECTIVES.duration}20000]` }));
    const malformed = "malformed-for-the-log";
    await raw.add("generate", { provider: "tokenhub", model: "hy-image-v3.0", input: { prompt: 42 } }, { jobId: malformed });
    const completed = await h.client.enqueue(h.request("hy-image-v3.0"));
    // cancelled while its task runs at the provider
    await expect
      .poll(
        async () => {
          const progress = (await h.client.get(slow))?.progress;
          return typeof progress === "object" ? progress.step : undefined;
        },
        { timeout: 10_000 },
      )
      .toBe("poll");
    await h.client.cancel(slow, { reason: "the order was withdrawn" });

    const ends = await Promise.all([failed, expired, slow, malformed, completed].map((id) => h.client.waitFor(id, { timeoutMs: 30_000 })));
    // a refused job has no stored result: its failed reason reads `<code>: <message>`
    expect(ends.map((s) => s.result?.error?.code ?? s.failedReason?.split(":")[0] ?? s.state)).toEqual([
      "task_failed",
      "result_expired",
      "cancelled",
      "invalid_request",
      "completed",
    ]);

    const lines = logLines(worker.output);
    const failures = lines.filter((l) => l.level === WARN && l.msg.startsWith("job failed"));
    const expected: Array<[string, string, string, RegExp]> = [
      [failed, "hy-image-v3.0", "task_failed", /./],
      [expired, "hy-image-v3.0", "result_expired", /./],
      [slow, "hy-video-1.5", "cancelled", /the order was withdrawn/],
      [malformed, "hy-image-v3.0", "invalid_request", /input\.prompt/],
    ];
    for (const [id, model, code, reason] of expected) {
      const mine = failures.filter((l) => l.jobId === id);
      expect(mine, `${code}: ${JSON.stringify(failures)}`).toHaveLength(1);
      expect(mine[0]).toMatchObject({ provider: "tokenhub", model, code });
      expect(mine[0]!.reason).toMatch(reason);
    }
    expect(failures.filter((l) => l.jobId === completed)).toEqual([]);

    // the 500s were retried: each at debug with its attempt, none at warn
    const retries = lines.filter((l) => /transient provider error/.test(l.msg));
    expect(retries.length).toBeGreaterThan(0);
    for (const r of retries) {
      expect(r.level).toBe(DEBUG);
      expect(r.attempt).toBeGreaterThanOrEqual(1);
    }
  }, 60_000);
});
