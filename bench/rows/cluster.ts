import { Redis } from "ioredis";
import { GenerationClient } from "../../src/producers/generation-client.js";
import { partitionPrefixes } from "../../src/queue/partitions.js";
import { WebhookReceiver } from "@kiln/dev-tools";
import { startRedisCluster, type RedisClusterHandle } from "../../test/support/redis-cluster.js";
import { CpuMeter, round } from "../proc-stats.js";
import type { BenchContext, BenchRow, RowResult } from "../row.js";
import { imageRequest, sized } from "../sizes.js";
import { BenchStack, KilnWorkerProcess, waitUntil } from "../stack.js";

/** Where one run's jobs go: the stack's single Redis, or the cluster with `partitions` partitions. */
interface Setup {
  label: string;
  partitions: number;
  cluster: boolean;
}

const SETUPS: Setup[] = [
  { label: "single Redis", partitions: 1, cluster: false },
  { label: "cluster, 1 partition", partitions: 1, cluster: true },
  { label: "cluster, 2 partitions", partitions: 2, cluster: true },
  { label: "cluster, 3 partitions", partitions: 3, cluster: true },
];

/**
 * Lifecycle jobs/s (as `lifecycle-local`: submit, one poll, a 16 KiB output to a local archive,
 * a signed webhook) of one worker process, on one Redis and on a 3-master Redis Cluster (3
 * replicas) with 1, 2 and 3 partitions (each on its own master), in one run, as ratios to the
 * single Redis. Each setup gets its own prefix and its jobs are enqueued before its worker starts. CPU is reported per
 * process: on a machine with few cores the figure is bound by CPU, not by Redis.
 */
export const row: BenchRow = {
  id: "cluster",
  title: "lifecycle jobs/s on a 3-master Redis Cluster with 1, 2, 3 partitions, against one Redis",
  async run(ctx: BenchContext): Promise<RowResult> {
    const jobs = sized(ctx, "CLUSTER_JOBS", 1000, 5000);
    const stack = await new BenchStack().start(["--image-ms", "0", "--image-bytes", String(16 * 1024)]);
    let cluster: RedisClusterHandle | undefined;
    try {
      cluster = await startRedisCluster({ masters: 3, replicas: 1 });
      const masterPids = await pidsOf((await cluster.masters()).map((m) => m.port));
      const rates: Record<string, number> = {};
      const context: Record<string, number | string | boolean> = { jobs };
      for (const [i, setup] of SETUPS.entries()) {
        // a prefix whose partitions are served by as many masters as there are partitions: where hash
        // tags fall is chance, and two partitions on one master would measure the slot allocation
        const prefix = setup.cluster ? await spreadPrefix(cluster, `bench-c${i}-`, setup.partitions) : `{bench-c${i}}`;
        const measured = await runSetup(ctx, stack, setup.cluster ? cluster : undefined, setup, prefix, jobs, masterPids);
        rates[setup.label] = measured.rate;
        ctx.log(`${setup.label}: ${round(measured.rate)} jobs/s`);
        for (const [k, v] of Object.entries(measured.cpu)) context[`${setup.label}: ${k}`] = v;
      }
      const single = rates["single Redis"]!;
      for (const setup of SETUPS.slice(1)) context[`${setup.label}: ratio to one Redis`] = round(rates[setup.label]! / single, 3);
      const best = rates["cluster, 3 partitions"]!;
      return {
        id: row.id,
        title: row.title,
        kiln: { value: round(best), unit: "jobs/s" },
        baseline: { value: round(single), unit: "jobs/s", name: "the same worker on one Redis" },
        ratio: round(best / single, 3),
        goal: "report only: with one worker process on 2 cores the rate is bound by CPU, not by the shards",
        met: true,
        context: { ...context, ...Object.fromEntries(Object.entries(rates).map(([k, v]) => [`${k}: jobs/s`, round(v)])) },
        series: { "ratio to one Redis": SETUPS.slice(1).map((s) => [s.partitions, round(rates[s.label]! / single, 3)]) },
        seriesAxes: { x: "partitions on the 3-master cluster (count)", y: "jobs/s ÷ one Redis's jobs/s (ratio)", joined: true },
      };
    } finally {
      await cluster?.stop();
      await stack.stop();
    }
  },
};

/** One setup: enqueue `jobs`, start a worker, time to the last verified webhook; CPU of every process. */
async function runSetup(
  ctx: BenchContext,
  stack: BenchStack,
  cluster: RedisClusterHandle | undefined,
  setup: Setup,
  prefix: string,
  jobs: number,
  masterPids: number[],
): Promise<{ rate: number; cpu: Record<string, number> }> {
  const receiver = new WebhookReceiver(stack.webhookSecret);
  const hooks = await receiver.start();
  const where: Record<string, string> = cluster ? { REDIS_CLUSTER_NODES: cluster.seeds } : {};
  const env = stack.workerEnv({
    ...where,
    KILN_PREFIX: prefix,
    KILN_PARTITIONS: String(setup.partitions),
    KILN_POLL_SCALE: "0.001",
    KILN_CONCURRENCY: "50",
    ARCHIVE_DIR: `${ctx.scratchDir}/archive-${prefix}`,
  });
  try {
    const client = new GenerationClient({
      target: cluster ? { clusterNodes: cluster.nodes.map((n) => ({ host: "127.0.0.1", port: n.port })) } : { url: stack.redisUrl },
      prefix,
      partitions: setup.partitions,
    });
    try {
      for (let i = 0; i < jobs; i += 500)
        await Promise.all(Array.from({ length: Math.min(500, jobs - i) }, (_, j) => client.enqueue(imageRequest(i + j, hooks))));
    } finally {
      await client.close();
    }
    const worker = stack.own(new KilnWorkerProcess(env, ctx.scratchDir));
    await worker.start();
    const redisPids = cluster
      ? Object.fromEntries(masterPids.map((pid, i) => [`master ${i + 1}`, pid]))
      : { "redis-server": stack.redisPid };
    const cpu = new CpuMeter({ worker: worker.pid, simulator: stack.simPid, ...redisPids }).start();
    const started = Date.now();
    const completed = () => receiver.received.filter((r) => r.payload.type === "generation.completed" && r.verified).length;
    await waitUntil(() => completed() >= jobs, 600_000, `${setup.label}: ${jobs} verified generation.completed webhooks`, 50);
    const seconds = (Math.max(...receiver.received.map((r) => r.at)) - started) / 1000;
    const usage = cpu.stop();
    await worker.stop();
    return { rate: jobs / seconds, cpu: { ...usage, "worker CPU ms per job": round(usage["worker CPU ms"]! / jobs, 2) } };
  } finally {
    await receiver.stop();
  }
}

/** `{<stem><k>}` for the first k whose `partitions` partitions are served by as many masters. */
async function spreadPrefix(cluster: RedisClusterHandle, stem: string, partitions: number): Promise<string> {
  for (let k = 0; ; k++) if ((await mastersServing(cluster, `{${stem}${k}}`, partitions)) === partitions) return `{${stem}${k}}`;
}

/** How many masters serve the slots of `prefix`'s partitions (their hash tags fall where they fall). */
async function mastersServing(cluster: RedisClusterHandle, prefix: string, partitions: number): Promise<number> {
  const probe = new Redis({ host: "127.0.0.1", port: cluster.nodes[0]!.port });
  try {
    const slots = await Promise.all(
      partitionPrefixes(prefix, partitions).map((p) => probe.call("CLUSTER", "KEYSLOT", `${p}:x`) as Promise<number>),
    );
    return new Set(await Promise.all(slots.map((slot) => cluster.masterOfSlot(slot)))).size;
  } finally {
    probe.disconnect();
  }
}

/** The process ids of the nodes on `ports` (INFO server), for their CPU. */
async function pidsOf(ports: number[]): Promise<number[]> {
  return Promise.all(
    ports.map(async (port) => {
      const redis = new Redis({ host: "127.0.0.1", port });
      try {
        return Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1] ?? 0);
      } finally {
        redis.disconnect();
      }
    }),
  );
}
