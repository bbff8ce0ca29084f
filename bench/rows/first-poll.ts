import { QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import type { BenchContext, BenchRow, RowResult } from "../row.js";
import { quantile, round } from "../proc-stats.js";
import { prefixed } from "../detection-common.js";
import { enqueueKiln, imageRequest, sized, sleep } from "../sizes.js";
import { BENCH_PREFIX, BenchStack, KilnWorkerProcess, waitUntil } from "../stack.js";
import { generateQueueName } from "../../src/contract/queue-names.js";

/**
 * Lateness of polls already due while a bulk enqueue lands: P video tasks pending and polled
 * about every 4 s (delays scaled by 1/15), then B new image jobs enqueued at once, each a full
 * lifecycle (submit, a poll that finds it done, archive, webhook enqueued). A poll's lateness is the time from its due
 * time (the `delayed` event's timestamp) to the job becoming active (the time in its `active`
 * event's stream id), watched on BullMQ's event stream until every new job is submitted.
 * Baseline: the same kiln with `KILN_SUBMIT_PACING=off` (new submits always up to the worker's
 * concurrency), on a stack of its own, in the same run.
 */
export const row: BenchRow = {
  id: "first-poll",
  title: "lateness of polls already due during a bulk enqueue",
  async run(ctx: BenchContext): Promise<RowResult> {
    const pending = sized(ctx, "FIRST_POLL_PENDING", 300, 1000);
    const bulk = sized(ctx, "FIRST_POLL_BULK", 10_000, 50_000);
    const paced = await lateness(ctx, pending, bulk, "on");
    ctx.log(`first-poll: paced p99 ${round(paced.p99, 3)} s; now without pacing`);
    const unpaced = await lateness(ctx, pending, bulk, "off");
    const p99 = paced.p99;
    return {
      id: "first-poll",
      title: row.title,
      kiln: { value: round(p99, 3), unit: "s p99" },
      baseline: { name: "kiln with KILN_SUBMIT_PACING=off", value: round(unpaced.p99, 3), unit: "s p99" },
      ratio: round(p99 / unpaced.p99, 3),
      goal: "polls due never wait behind new submissions: p99 lateness ≤ 1 s",
      met: p99 <= 1,
      context: {
        "pending tasks": pending,
        "bulk enqueued": bulk,
        ...paced.context,
        ...prefixed("pacing off", unpaced.context),
      },
      series: { "kiln (pacing on)": paced.series, "pacing off": unpaced.series },
      seriesAxes: {
        x: "time since the bulk was enqueued (s)",
        y: "p99 lateness of the polls that started in that second (s)",
        joined: true,
      },
    };
  },
};

interface Lateness {
  p99: number;
  context: Record<string, number>;
  /** Per second since the enqueue: the p99 lateness of the polls that became active in it. */
  series: Array<[number, number]>;
}

/** One side's run on a stack of its own: the lateness of every poll from the bulk's enqueue until all of it is submitted. */
async function lateness(ctx: BenchContext, pending: number, bulk: number, pacing: "on" | "off"): Promise<Lateness> {
  const stack = await new BenchStack().start(["--video-ms", String(1e12), "--image-ms", "0", "--image-bytes", "1024"]);
  // video delays 10 s ×1.5 to 60 s, scaled to 0.67 s up to 4 s
  const worker = stack.own(
    new KilnWorkerProcess(
      stack.workerEnv({
        KILN_POLL_SCALE: String(1 / 15),
        KILN_CONCURRENCY: "50",
        KILN_SUBMIT_PACING: pacing,
        ARCHIVE_DIR: `${ctx.scratchDir}/archive-${pacing}`,
      }),
      ctx.scratchDir,
    ),
  );
  const connection = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  const events = new QueueEvents(generateQueueName("tokenhub"), { connection, prefix: BENCH_PREFIX });
  try {
    await enqueueKiln(stack.redisUrl, pending, (i) => ({
      provider: "tokenhub",
      model: "hy-video-1.5",
      input: { prompt: `pending ${i}` },
    }));
    await worker.start();
    await waitUntil(async () => (await stack.simSubmissions()) >= pending, 120_000, "pending tasks submitted");
    await sleep(5000);
    const due = new Map<string, number>();
    const late: number[] = [];
    // when each poll became active (Redis's clock), to tell the enqueue burst from the submits after it
    const activeAt: number[] = [];
    events.on("delayed", ({ jobId, delay }) => due.set(jobId, Number(delay)));
    // when the job became active is the event's stream id (Redis's clock at the XADD), not when this
    // process, busy enqueueing the bulk, got round to reading it
    events.on("active", ({ jobId }, eventId: string) => {
      const at = due.get(jobId);
      if (at === undefined) return;
      due.delete(jobId);
      const active = Number(eventId.split("-")[0]);
      late.push(Math.max(0, active - at));
      activeAt.push(active);
    });
    await events.waitUntilReady();
    await sleep(2000);
    const before = late.length;
    const enqueueStart = await redisTime(stack.redis);
    const enqueued = Date.now();
    await enqueueKiln(stack.redisUrl, bulk, (i) => imageRequest(pending + i));
    const enqueueS = (Date.now() - enqueued) / 1000;
    const enqueueEnd = await redisTime(stack.redis);
    await waitUntil(async () => (await stack.simSubmissions()) >= pending + bulk, 1_800_000, "bulk submitted", 500);
    const submitS = (Date.now() - enqueued) / 1000;
    await sleep(1000);
    await worker.stop();
    const during = late.slice(before);
    const at = activeAt.slice(before);
    const inBurst = during.filter((_, i) => at[i]! <= enqueueEnd);
    const afterBurst = during.filter((_, i) => at[i]! > enqueueEnd);
    const p99 = quantile(during, 0.99) / 1000;
    return {
      p99,
      context: {
        "enqueue s": round(enqueueS),
        "enqueue → all submitted s": round(submitS),
        "polls measured": during.length,
        "p50 lateness s": round(quantile(during, 0.5) / 1000, 3),
        "p99 lateness s": round(p99, 3),
        "max lateness s": round(Math.max(...during) / 1000, 3),
        // the enqueuing process and redis-server take most of the 2 cores while the bulk lands
        "polls during the enqueue": inBurst.length,
        "p99 lateness during the enqueue s": round(quantile(inBurst, 0.99) / 1000, 3),
        "p99 lateness after the enqueue s": round(quantile(afterBurst, 0.99) / 1000, 3),
      },
      series: perSecond(during, at, enqueueStart),
    };
  } finally {
    await events.close();
    await connection.quit();
    await worker.stop();
    await stack.stop();
  }
}

/** The p99 lateness (s) of the polls that became active in each second since `from`. */
function perSecond(lateMs: number[], activeAt: number[], from: number): Array<[number, number]> {
  const seconds = new Map<number, number[]>();
  lateMs.forEach((ms, i) => {
    const second = Math.floor((activeAt[i]! - from) / 1000);
    const inSecond = seconds.get(second) ?? [];
    inSecond.push(ms);
    seconds.set(second, inSecond);
  });
  return [...seconds.entries()].sort(([a], [b]) => a - b).map(([second, ms]) => [second, round(quantile(ms, 0.99) / 1000, 3)]);
}

/** Redis's clock, ms: the event stream ids are in it. */
async function redisTime(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
