import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Queue } from "bullmq";
import { getFreePort, type SimulatorStats } from "@kiln/dev-tools";
import { hostileJobs } from "./hostile-jobs.js";
import { hostileCase } from "./hostile-case.js";
import { percentile, sleep, type ChaosWorld, type Scene } from "./chaos-world.js";

/** What one case reports: its figure (one line), whether it held, and what it saw. */
export interface CaseResult {
  name: string;
  passed: boolean;
  figure: string;
  problems: string[];
  details: Record<string, unknown>;
}

export interface CaseSizes {
  full: boolean;
}

type Case = (world: ChaosWorld, sizes: CaseSizes) => Promise<CaseResult>;

/** Farthest a submission may be from a kill and still count as hit by it (answer not yet stored, or request still in flight). */
const WINDOW_BOUND_MS = 1000;

const MODELS = ["hy-image-v3.0", "hy-video-1.5", "hy-3d-3.0", "hy-image-lite"];

async function enqueueMany(scene: Scene, n: number, tag: string, models = MODELS): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 100) {
    const chunk = Array.from({ length: Math.min(100, n - i) }, (_, j) =>
      scene.client.enqueue(scene.request(models[(i + j) % models.length]!, tag)),
    );
    ids.push(...(await Promise.all(chunk)));
  }
  return ids;
}

/** Checks shared by every case: all terminal and completed, outputs intact, one webhook event id per job. */
async function commonChecks(
  scene: Scene,
  ids: string[],
  statuses: Awaited<ReturnType<Scene["settle"]>>,
  problems: string[],
  webhookWaitMs = 60_000,
): Promise<{ completed: number; duplicates: number; outputs: number }> {
  let completed = 0;
  for (const id of ids) {
    const s = statuses.get(id);
    if (s?.state === "completed") completed++;
    else problems.push(`${id}: ${s?.state ?? "missing"} ${s?.failedReason ?? ""}`.trim());
  }
  const byPrompt = await scene.submissionsByPrompt();
  let duplicates = 0;
  for (const count of byPrompt.values()) duplicates += Math.max(0, count - 1);
  const archives = await scene.verifyArchives(statuses.values());
  problems.push(...archives.problems);
  await scene.receiver
    .waitFor(() => ids.every((id) => scene.receiver.of(id).some((r) => r.answeredWith < 300)), webhookWaitMs)
    .catch(() => problems.push("not every job's webhook was delivered"));
  for (const id of ids) {
    const eventIds = new Set(scene.receiver.of(id).map((r) => r.headers["webhook-id"]));
    if (eventIds.size > 1) problems.push(`${id}: ${eventIds.size} different webhook-ids for one event`);
  }
  return { completed, duplicates, outputs: archives.outputs };
}

/**
 * Kill: SIGKILL the worker again and again, the first kills during the submit burst; a new
 * worker starts at once each time. Recovery is how long the jobs the dead worker held stayed
 * active before another worker took them (lock duration + stalled check).
 */
export const killCase: Case = async (world, { full }) => {
  const n = full ? 1000 : 200;
  const kills = full ? 10 : 3;
  const scene = await world.scene("kill", {
    simulator: { latencyMs: Number(process.env.CHAOS_LATENCY_MS ?? 0) },
    env: { KILN_CONCURRENCY: "50" },
  });
  const problems: string[] = [];
  try {
    let worker = await scene.startWorker();
    const queue = new Queue("generate-tokenhub", { connection: { url: world.redis.url }, prefix: scene.prefix });
    const recoveries: Promise<number>[] = [];
    const killTimes: number[] = [];
    const ids = await enqueueMany(scene, n, "kill");
    for (let k = 1; k <= kills; k++) {
      // the first half of the kills land while submissions are still going out
      const target = Math.floor((n * k) / (kills + 1));
      await scene.simulator.waitForSubmissions(target, 5);
      const held = (await queue.getActive()).map((j) => j.id!);
      const killedAt = Date.now();
      await worker.kill();
      killTimes.push(killedAt);
      recoveries.push(recoveryOf(queue, held, killedAt));
      worker = await scene.startWorker();
    }
    const statuses = await scene.settle(ids, full ? 300_000 : 120_000);
    const recovered = await Promise.all(recoveries);
    await queue.close();
    const c = await commonChecks(scene, ids, statuses, problems);
    const split = splitDuplicates((await scene.simulator.stats()).submissions, killTimes);
    // the default lock (10 s) and stalled check (5 s) bring a dead worker's jobs back within about
    // 15 s; checked after the last kill, whose successor lives on (an earlier successor may itself
    // be killed before its stalled check runs, which only delays the return)
    const recoveryBoundMs = (scene.env.KILN_LOCK_DURATION ?? 10_000) + 2 * (scene.env.KILN_STALLED_INTERVAL ?? 5_000) + 2_000;
    if (recovered.at(-1)! > recoveryBoundMs)
      problems.push(`the last dead worker's jobs came back after ${recovered.at(-1)} ms (bound ${recoveryBoundMs} ms)`);
    // the guarantee: a task is submitted again only when a crash hit its submit window, so every
    // earlier submission of a duplicate was made around a kill, never long before or after one
    if (split.maxGapMs > WINDOW_BOUND_MS)
      problems.push(
        `a duplicate's first submission was made ${split.maxGapMs} ms away from the nearest kill (more than ${WINDOW_BOUND_MS} ms: outside any crash window)`,
      );
    return {
      name: "kill",
      passed: problems.length === 0,
      figure:
        `${n} jobs, ${kills} SIGKILLs: ${c.completed}/${n} completed, ${c.outputs} outputs sha256-verified, ` +
        `${c.duplicates} duplicate submissions (${split.answered} answered before a kill but not stored, ` +
        `${split.inFlight} still in flight at the provider), each within ${split.maxGapMs} ms of a kill; ` +
        `jobs of a killed worker back in ${(recovered.at(-1)! / 1000).toFixed(1)} s after the last kill ` +
        `(${(percentile(recovered, 50) / 1000).toFixed(1)} s median, ${(Math.max(...recovered) / 1000).toFixed(1)} s max over kills in quick succession)`,
      problems,
      details: { n, kills, ...c, ...split, recoveryMs: recovered },
    };
  } finally {
    await scene.close();
  }
};

/**
 * Of the tasks submitted more than once, the earlier submissions split by what the provider had
 * done when the worker died: its answer had left (kiln's window: received, not yet stored), or
 * the request was still being handled (in flight: no client can avoid those without an
 * idempotency key on the provider's side).
 */
function splitDuplicates(
  submissions: SimulatorStats["submissions"],
  killTimes: number[],
): { answered: number; inFlight: number; maxGapMs: number } {
  const byPrompt = new Map<string, Array<{ at: number; answeredAt?: number }>>();
  for (const s of submissions) byPrompt.set(s.prompt, [...(byPrompt.get(s.prompt) ?? []), s]);
  let answered = 0;
  let inFlight = 0;
  let maxGapMs = 0;
  for (const subs of byPrompt.values()) {
    for (const earlier of subs.slice(0, -1)) {
      // the kill nearest in time: a request the dead worker had sent may reach the provider just after it
      const kill = killTimes.reduce<number | undefined>(
        (best, t) => (best === undefined || Math.abs(t - earlier.at) < Math.abs(best - earlier.at) ? t : best),
        undefined,
      );
      maxGapMs = Math.max(maxGapMs, kill === undefined ? Infinity : Math.abs(kill - earlier.at));
      if (earlier.answeredAt !== undefined && kill !== undefined && earlier.answeredAt <= kill) answered++;
      else inFlight++;
    }
  }
  return { answered, inFlight, maxGapMs };
}

/** Calls `attempt` until it resolves or `timeoutMs` passes (then its last error). */
async function retrying<T>(attempt: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

/** How long until every job in `held` left the dead worker (picked up again or finished), ms. */
async function recoveryOf(queue: Queue, held: string[], killedAt: number): Promise<number> {
  const deadline = killedAt + 120_000;
  let pending = [...held];
  while (pending.length > 0 && Date.now() < deadline) {
    const jobs = await Promise.all(pending.map((id) => queue.getJob(id)));
    pending = pending.filter((_, i) => {
      const job = jobs[i];
      return job !== undefined && !job.finishedOn && (job.processedOn ?? 0) <= killedAt;
    });
    if (pending.length > 0) await sleep(250);
  }
  return Date.now() - killedAt;
}

/** Window: 50 submits in flight, no fault: how long from a submit answer to its task id stored. */
export const windowCase: Case = async (world, { full }) => {
  const n = Number(process.env.CHAOS_WINDOW_N ?? (full ? 1000 : 300));
  const port = await getFreePort();
  const scene = await world.scene("window", {
    simulator: { latencyMs: 100, durationsMs: { image: 60_000, video: 60_000, "3d": 60_000 } },
    env: { KILN_CONCURRENCY: "50", KILN_HTTP_PORT: String(port) },
  });
  const problems: string[] = [];
  try {
    await scene.startWorker();
    await enqueueMany(scene, n, "window", ["hy-video-1.5"]);
    await scene.simulator.waitForSubmissions(n, 50);
    await sleep(500);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const q = (quantile: string) =>
      Number(new RegExp(`kiln_submit_store_seconds\\{[^}]*quantile="${quantile}"[^}]*\\} ([0-9.e+-]+)`).exec(metrics)?.[1]) * 1000;
    const count = Number(/kiln_submit_store_seconds_count\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
    const [p50, p99] = [q("0.5"), q("0.99")];
    if (!(count >= n)) problems.push(`only ${count} windows measured of ${n} submits`);
    return {
      name: "window",
      passed: problems.length === 0,
      figure: `${n} submits, 50 in flight: answer → task id stored p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`,
      problems,
      details: { n, count, p50Ms: p50, p99Ms: p99 },
    };
  } finally {
    await scene.close();
  }
};

/** Redis: SIGKILL mid-run, restarted from its AOF on the same port; the workers are not restarted. */
export const redisCase: Case = async (world, { full }) => {
  const n = full ? 1000 : 200;
  const scene = await world.scene("redis", { simulator: { latencyMs: 20 } });
  const problems: string[] = [];
  try {
    const worker = await scene.startWorker();
    const ids = await enqueueMany(scene, n, "redis");
    await scene.simulator.waitForSubmissions(n / 2);
    await world.restartRedis(2000);
    // a producer fails fast while Redis is away (enableOfflineQueue: false) and retries, as a caller would
    const requests = Array.from({ length: 20 }, (_, i) => ({
      id: `after-restart-${i}`,
      request: scene.request(MODELS[i % MODELS.length]!, "redis-after"),
    }));
    // fixed ids: a retried enqueue adds nothing twice
    const after = await retrying(() => Promise.all(requests.map((r) => scene.client.enqueue(r.request, { id: r.id }))), 30_000);
    const all = [...ids, ...after];
    const statuses = await scene.settle(all, full ? 300_000 : 120_000);
    const c = await commonChecks(scene, all, statuses, problems);
    if (worker.child.exitCode !== null) problems.push("the worker exited");
    return {
      name: "redis",
      passed: problems.length === 0,
      figure:
        `${n} jobs + 20 enqueued after the restart: ${c.completed}/${all.length} completed (0 lost), ` +
        `${c.duplicates} duplicate submissions, worker not restarted`,
      problems,
      details: { n, ...c },
    };
  } finally {
    await scene.close();
  }
};

/** S3: the archive store unreachable while tasks finish; everything archived once it returns. */
export const s3Case: Case = async (world, { full }) => {
  const n = full ? 200 : 40;
  const downMs = full ? 45_000 : 10_000;
  const scene = await world.scene("s3", { simulator: { durationsMs: { image: 500, video: 800, "3d": 800 } } });
  const problems: string[] = [];
  try {
    await scene.startWorker();
    await world.s3Proxy.down();
    const ids = await enqueueMany(scene, n, "s3");
    await sleep(downMs);
    const archivedDuring = scene.receiver.received.length;
    await world.s3Proxy.up();
    const statuses = await scene.settle(ids, 180_000);
    const c = await commonChecks(scene, ids, statuses, problems);
    if (c.duplicates > 0) problems.push(`${c.duplicates} duplicate submissions (expected 1 submission each)`);
    return {
      name: "s3",
      passed: problems.length === 0,
      figure:
        `S3 down ${downMs / 1000} s under ${n} jobs: ${c.completed}/${n} completed and archived after it returned, ${c.outputs} outputs verified, ` +
        `${c.duplicates} duplicates (webhooks during the outage: ${archivedDuring})`,
      problems,
      details: { n, downMs, ...c },
    };
  } finally {
    if (!world.s3Proxy.isUp) await world.s3Proxy.up();
    await scene.close();
  }
};

/** Storm: 429s, 5xx, truncated bodies and resets on submits, polls and downloads. */
export const stormCase: Case = async (world, { full }) => {
  const n = full ? 500 : 100;
  const scene = await world.scene("storm", {
    simulator: { rateLimitRate: 0.1, retryAfterSeconds: 1, serverErrorRate: 0.3, truncateRate: 0.05, resetRate: 0.05 },
  });
  const problems: string[] = [];
  try {
    await scene.startWorker();
    const ids = await enqueueMany(scene, n, "storm");
    const statuses = await scene.settle(ids, full ? 600_000 : 240_000);
    const c = await commonChecks(scene, ids, statuses, problems);
    const stats = await scene.simulator.stats();
    return {
      name: "storm",
      passed: problems.length === 0,
      figure:
        `${n} jobs through 10% 429, 15% 500, 15% 503, 5% truncated, 5% resets: ${c.completed}/${n} completed, ${stats.rejected} calls refused, ` +
        `${stats.broken} broken, ${c.duplicates} duplicate submissions (counted, by the retry rule)`,
      problems,
      details: { n, ...c, rejected: stats.rejected, broken: stats.broken },
    };
  } finally {
    await scene.close();
  }
};

/** Fuzz: hostile raw jobs between good ones; none reaches a provider or a private address. */
export const fuzzCase: Case = async (world, { full }) => {
  const n = full ? 2000 : 200;
  let canaryHits = 0;
  const canary = createServer((_req, res) => {
    canaryHits++;
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => canary.listen(0, "127.0.0.1", r));
  const canaryUrl = `http://127.0.0.1:${(canary.address() as AddressInfo).port}/hook`;
  // private addresses refused, as in production: the good jobs use a model without downloads
  const scene = await world.scene("fuzz", { env: { KILN_ALLOW_PRIVATE_URLS: "false" } });
  const goodModel = "hunyuan-2.0-instruct-20251111";
  const problems: string[] = [];
  try {
    const worker = await scene.startWorker();
    const raw = new Queue("generate-tokenhub", { connection: { url: world.redis.url }, prefix: scene.prefix });
    const hostile = hostileJobs(n, canaryUrl, scene.request("hy-image-v3.0", "fuzz-template"));
    const goodPrompts = new Set<string>();
    const good: string[] = [];
    const bad: string[] = [];
    for (let i = 0; i < hostile.length; i++) {
      if (i % Math.ceil(n / 20) === 0) {
        const prompt = `chaos fuzz good ${i}`;
        goodPrompts.add(prompt);
        good.push(
          await scene.client.enqueue({ provider: "tokenhub", model: goodModel, input: { messages: [{ role: "user", content: prompt }] } }),
        );
      }
      const job = hostile[i]!;
      bad.push((await raw.add(job.name, job.data)).id!);
    }
    const statuses = await scene.settle([...good, ...bad], 180_000);
    await raw.close();
    let coded = 0;
    for (const id of bad) {
      const s = statuses.get(id);
      if (s?.state === "failed" && /^(invalid_request|internal|submit_unknown|cancelled): /.test(s.failedReason ?? "")) coded++;
      else problems.push(`hostile job ${id}: ${s?.state} ${String(s?.failedReason).slice(0, 120)}`);
    }
    const goodDone = good.filter((id) => statuses.get(id)?.state === "completed").length;
    if (goodDone !== good.length) problems.push(`${good.length - goodDone} good jobs did not complete`);
    const strangers = (await scene.simulator.stats()).submissions.filter((s) => !goodPrompts.has(s.prompt));
    if (strangers.length > 0) problems.push(`${strangers.length} hostile jobs reached the provider`);
    await sleep(1000); // any webhook to the canary would have been tried by now
    if (canaryHits > 0) problems.push(`${canaryHits} requests reached the private canary address`);
    if (worker.child.exitCode !== null) problems.push("the worker exited");
    const rss = await worker.rssMiB();
    return {
      name: "fuzz",
      passed: problems.length === 0,
      figure:
        `${bad.length} hostile jobs: ${coded} failed with a coded reason, ${strangers.length} reached the provider, ` +
        `${canaryHits} requests reached the private canary; ${goodDone}/${good.length} good jobs completed; worker RSS after ${rss.toFixed(0)} MiB`,
      problems: problems.slice(0, 20),
      details: { n: bad.length, coded, goodDone, canaryHits, rssMiB: rss },
    };
  } finally {
    canary.close();
    await scene.close();
  }
};

/** Term: SIGTERM with jobs in flight: exit 0 within the bound; a new worker completes every job. */
export const termCase: Case = async (world) => {
  const n = 100;
  const scene = await world.scene("term", { simulator: { latencyMs: 30, durationsMs: { image: 4000, video: 5000, "3d": 5000 } } });
  const problems: string[] = [];
  try {
    const worker = await scene.startWorker();
    const ids = await enqueueMany(scene, n, "term");
    await scene.simulator.waitForSubmissions(n * 0.6, 5);
    const exit = await worker.term();
    const boundMs = scene.env.KILN_SHUTDOWN_TIMEOUT;
    if (exit.code !== 0) problems.push(`exit code ${exit.code}`);
    if (exit.ms > boundMs) problems.push(`took ${exit.ms} ms, bound ${boundMs} ms`);
    await scene.startWorker();
    const statuses = await scene.settle(ids, 120_000);
    const c = await commonChecks(scene, ids, statuses, problems);
    if (c.duplicates > 0) problems.push(`${c.duplicates} duplicate submissions`);
    return {
      name: "term",
      passed: problems.length === 0,
      figure:
        `SIGTERM with ${n} jobs in flight: exit ${exit.code} in ${(exit.ms / 1000).toFixed(2)} s (bound ${boundMs / 1000} s); ` +
        `a new worker completed ${c.completed}/${n}, ${c.duplicates} duplicates`,
      problems,
      details: { n, exit, ...c },
    };
  } finally {
    await scene.close();
  }
};

/** Webhook outage: the receiver answers 500 for a while; all delivered after, same webhook-id; 410 stops at once. */
export const webhookOutageCase: Case = async (world, { full }) => {
  const n = 20;
  const outageMs = full ? 10 * 60_000 : 20_000;
  const schedule = full ? "1s,5s,30s,1m,2m,2m,2m,2m,2m,2m,2m,2m,2m,2m" : "0.5s,1s,2s,3s,3s,3s,3s,3s,3s,3s,3s,3s";
  const scene = await world.scene("webhook", {
    simulator: { durationsMs: { image: 300, video: 300, "3d": 300 } },
    env: { KILN_WEBHOOK_RETRY_SCHEDULE: schedule },
  });
  const problems: string[] = [];
  try {
    await scene.startWorker();
    let outage = true;
    let goneId = "";
    scene.receiver.status = (d) => (d.payload.data?.id === goneId ? 410 : outage ? 500 : 204);
    goneId = await scene.client.enqueue(scene.request("hy-image-lite", "webhook-gone"));
    const ids = await enqueueMany(scene, n, "webhook");
    const started = Date.now();
    await sleep(outageMs);
    outage = false;
    const statuses = await scene.settle([...ids, goneId], 60_000);
    // the next try after the outage can be a whole schedule step away (2 min in the full run)
    const c = await commonChecks(scene, ids, statuses, problems, full ? 180_000 : 30_000);
    const delivered = ids.filter((id) => scene.receiver.of(id).some((r) => r.answeredWith < 300)).length;
    const failedTries = ids.reduce((sum, id) => sum + scene.receiver.of(id).filter((r) => r.answeredWith === 500).length, 0);
    await sleep(3000);
    const goneTries = scene.receiver.of(goneId).length;
    if (goneTries !== 1) problems.push(`the 410 receiver got ${goneTries} attempts (expected 1)`);
    const lastDelivery = Math.max(...ids.map((id) => scene.receiver.of(id).find((r) => r.answeredWith < 300)?.at ?? Infinity));
    return {
      name: "webhook outage",
      passed: problems.length === 0,
      figure:
        `receiver 500 for ${outageMs / 1000} s: ` +
        `${delivered}/${n} delivered after it (last ${((lastDelivery - started - outageMs) / 1000).toFixed(1)} s after), ` +
        `${failedTries} failed tries, one webhook-id per event; 410: ${goneTries} attempt`,
      problems,
      details: { n, outageMs, failedTries, goneTries, ...c },
    };
  } finally {
    await scene.close();
  }
};

export const CASES: Record<string, Case> = {
  kill: killCase,
  window: windowCase,
  redis: redisCase,
  s3: s3Case,
  storm: stormCase,
  fuzz: fuzzCase,
  term: termCase,
  "webhook-outage": webhookOutageCase,
  hostile: hostileCase,
};
