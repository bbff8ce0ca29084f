import { Queue } from "bullmq";
import type { BenchContext, BenchRow, RowResult } from "../row.js";
import { CpuMeter, round } from "../proc-stats.js";
import { enqueueBare, enqueueKiln, imageRequest, sized } from "../sizes.js";
import { BaselineProcess, BENCH_PREFIX, BenchStack, KilnWorkerProcess, waitUntil } from "../stack.js";
import { generateQueueName } from "../../src/contract/queue-names.js";

const TASK_MS = 5000;
const SLOTS = 50;

/**
 * Tasks in flight: T image tasks of 5 s each, 50 worker slots on both sides. kiln parks a
 * pending task (no slot held); the naive poller is a BullMQ processor that submits, then sleeps
 * 1 s between status requests holding its slot, then downloads the output. Tasks completed per
 * minute, and the slots the naive poller would need to keep up with kiln.
 */
export const row: BenchRow = {
  id: "naive",
  title: "tasks in flight: kiln against a naive poller (50 slots each, 5 s tasks)",
  async run(ctx: BenchContext): Promise<RowResult> {
    const tasks = sized(ctx, "NAIVE_TASKS", 400, 2000);
    const stack = await new BenchStack().start(["--image-ms", String(TASK_MS), "--image-bytes", String(16 * 1024)]);
    try {
      await enqueueKiln(stack.redisUrl, tasks, (i) => imageRequest(i));
      const worker = await stack
        .own(
          new KilnWorkerProcess(
            stack.workerEnv({ KILN_CONCURRENCY: String(SLOTS), ARCHIVE_DIR: `${ctx.scratchDir}/archive` }),
            ctx.scratchDir,
          ),
        )
        .start();
      const cpu = new CpuMeter({ worker: worker.pid }).start();
      const started = Date.now();
      const queue = new Queue(generateQueueName("tokenhub"), { connection: stack.redis, prefix: BENCH_PREFIX });
      await waitUntil(
        async () => (await queue.getJobCounts("completed")).completed! >= tasks,
        900_000,
        `${tasks} kiln jobs completed`,
        250,
      );
      const kilnMin = (Date.now() - started) / 60_000;
      const kilnCpu = cpu.stop();
      await queue.close();
      await worker.stop();

      await enqueueBare(stack.redisUrl, "bare-naive", tasks, (i) => ({ prompt: `naive ${i}` }));
      const naive = await stack
        .own(
          new BaselineProcess("naive", {
            redisUrl: stack.redisUrl,
            prefix: BENCH_PREFIX,
            queue: "bare-naive",
            concurrency: SLOTS,
            target: tasks,
            simUrl: stack.simUrl,
            apiKey: "bench",
            pollMs: 1000,
          }),
        )
        .start();
      const naiveCpu = new CpuMeter({ baseline: naive.pid }).start();
      await naive.until(() => naive.report.doneAt !== undefined, 1_800_000, `${tasks} naive tasks done`);
      const naiveUsage = naiveCpu.stop();
      await naive.stop();
      const naiveMin = (naive.report.doneAt! - naive.report.readyAt) / 60_000;
      const kilnRate = tasks / kilnMin;
      const naiveRate = tasks / naiveMin;
      return {
        id: "naive",
        title: row.title,
        kiln: { value: round(kilnRate), unit: "tasks/min" },
        baseline: { value: round(naiveRate), unit: "tasks/min", name: "naive poller (sleeps between polls holding its slot)" },
        ratio: round(kilnRate / naiveRate, 2),
        goal: "kiln completes more tasks with the same slots",
        met: kilnRate > naiveRate,
        context: {
          tasks,
          "task duration s": TASK_MS / 1000,
          "worker slots": SLOTS,
          "kiln s": round(kilnMin * 60),
          "naive s": round(naiveMin * 60),
          "slots the naive poller needs for kiln's rate": Math.ceil((SLOTS * kilnRate) / naiveRate),
          ...kilnCpu,
          ...naiveUsage,
        },
      };
    } finally {
      await stack.stop();
    }
  },
};
