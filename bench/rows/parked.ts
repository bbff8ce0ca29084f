import type { BenchContext, BenchRow, RowResult } from "../row.js";
import { CpuMeter, ProcessRssSampler, round } from "../proc-stats.js";
import { enqueueKiln, sized, sleep } from "../sizes.js";
import { BenchStack, callsPer, callTotal, commandDelta, KilnWorkerProcess, waitUntil } from "../stack.js";

/** The video poll policy: 10 s first, ×1.5, capped at 60 s (src/providers/poll-policy.ts). */
const DELAYS_TO_CAP_S = [10, 15, 22.5, 33.75, 50.625];
const CAP_S = 60;

/**
 * Pending tasks carried by one worker process: N video tasks that never finish, each polled
 * at the 60 s cap once the schedule has reached it, so the expected rate is N / 60 polls/s.
 * Measures polls/s achieved (the simulator's count) and the worker's steady RSS. No baseline:
 * the figure is against the expected rate. `BENCH_PARKED_POLL_SCALE` shrinks every delay (the
 * cap too, and the expected rate grows to N / (60 s × scale)) to try the row quickly.
 */
export const row: BenchRow = {
  id: "parked",
  title: "pending tasks carried by one worker process (at the poll cap)",
  async run(ctx: BenchContext): Promise<RowResult> {
    const tasks = sized(ctx, "PARKED", 20_000, 200_000);
    const scale = sized(ctx, "PARKED_POLL_SCALE", 1, 1);
    const capS = CAP_S * scale;
    // whole cap periods: the tasks were submitted within a short span, so their polls come in waves
    // a cap apart, and a window of part of one period counts a wave's crest (or trough) instead of the rate
    const windowS = capS * Math.max(ctx.full ? 2 : 1, Math.ceil(30 / capS));
    const stack = await new BenchStack().start(["--video-ms", String(1e12), "--video-bytes", "1024"]);
    try {
      const enqueueStarted = Date.now();
      await enqueueKiln(stack.redisUrl, tasks, (i) => ({ provider: "tokenhub", model: "hy-video-1.5", input: { prompt: `parked ${i}` } }));
      const enqueueS = (Date.now() - enqueueStarted) / 1000;
      // the fixed schedule: every task reaches the cap and stays there, so the expected rate is exact
      // (the adaptive schedule polls a task that outlives every estimate more often; its own row measures it)
      const worker = await stack
        .own(
          new KilnWorkerProcess(
            stack.workerEnv({ KILN_POLL_SCALE: String(scale), KILN_CONCURRENCY: "50", KILN_POLL_SCHEDULE: "fixed" }),
            ctx.scratchDir,
            process.env.BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_CPU_PROF] : [],
          ),
        )
        .start();
      await waitUntil(async () => (await stack.simSubmissions()) >= tasks, 1_800_000, "every task submitted", 1000);
      const submittedS = (Date.now() - enqueueStarted) / 1000;
      // the last task submitted reaches the cap after the delays before it (+20% jitter at worst)
      const warmS = DELAYS_TO_CAP_S.reduce((a, b) => a + b, 0) * scale * 1.2;
      ctx.log(
        `${tasks} enqueued in ${enqueueS.toFixed(0)} s, submitted after ${submittedS.toFixed(0)} s; ${warmS.toFixed(0)} s until every task polls at the cap, then ${windowS.toFixed(0)} s measured`,
      );
      await sleep(warmS * 1000);
      const q0 = await stack.simQueries();
      const c0 = await stack.commandCalls();
      const rss = new ProcessRssSampler(worker.pid).start(500);
      const cpu = new CpuMeter({ worker: worker.pid, "redis-server": stack.redisPid, simulator: stack.simPid }).start();
      const t0 = Date.now();
      await sleep(windowS * 1000);
      const polls = (await stack.simQueries()) - q0;
      const commands = commandDelta(c0, await stack.commandCalls());
      const seconds = (Date.now() - t0) / 1000;
      const usage = cpu.stop();
      const memory = rss.stop();
      const redisMemory = Number(/used_memory:(\d+)/.exec(await stack.redis.info("memory"))?.[1] ?? 0);
      await worker.stop();
      const achieved = polls / seconds;
      const expected = tasks / capS;
      const ratio = achieved / expected;
      return {
        id: "parked",
        title: row.title,
        kiln: { value: round(achieved), unit: "polls/s" },
        ratio: round(ratio, 3),
        goal: "200,000 parked at ≈ 3,300 polls/s (every task polled at the 60 s cap), RSS ≤ 400 MB",
        met: tasks >= 200_000 && ratio >= 0.95 && memory.peakMib <= 400,
        context: {
          "parked tasks": tasks,
          "poll cap s": capS,
          "expected polls/s": round(expected),
          "steady RSS MiB (median)": round(memory.medianMib),
          "peak RSS MiB": round(memory.peakMib),
          "Redis used memory MiB": round(redisMemory / 1024 / 1024),
          "Redis bytes per parked task": Math.round(redisMemory / tasks),
          "enqueue s": round(enqueueS),
          "enqueue + submit s": round(submittedS),
          "window s": round(seconds),
          "Redis commands per poll (scripts included)": round(callTotal(commands) / polls, 1),
          "Redis calls per poll": callsPer(
            Object.fromEntries(Object.entries(commands).filter(([name]) => ["evalsha", "bzpopmin", "get", "hmget"].includes(name))),
            polls,
          ),
          ...usage,
        },
      };
    } finally {
      await stack.stop();
    }
  },
};
