import { Command, InvalidArgumentError, Option } from "commander";
import { loadEnvironment, queueLocationOf, type Environment } from "../config/index.js";
import { connectRedis, redisTargetOf } from "../queue/redis.js";
import { DeadLetter, DELIVERY_STATES, type DeliverySummary, type DeliveryState, type ReplayResult } from "../webhooks/dead-letter.js";
import { GenerationClient } from "../producers/generation-client.js";
import { CliExit, EXIT } from "./cli-exit.js";
import { printJson, stderrLogger } from "./cli-output.js";

/** `kiln webhooks`: inspect webhook deliveries and replay the dead letter. */
export function webhooksCommand(): Command {
  return new Command("webhooks")
    .description("inspect webhook deliveries; replay failed ones")
    .addCommand(listCommand())
    .addCommand(replayCommand());
}

function listCommand(): Command {
  return new Command("list")
    .description("list deliveries: the dead letter with --failed, else every one not yet delivered")
    .option("--failed", "only deliveries that exhausted their retries or were refused (the dead letter)")
    .addOption(new Option("--limit <n>", "at most this many per state, newest first").default(100).argParser(positiveInt))
    .option("--attempts", "print every attempt's time, status and error under each delivery")
    .option("--json", "print the deliveries as JSON")
    .action(async (options: { failed?: boolean; limit: number; attempts?: boolean; json?: boolean }) => {
      // without --failed, "not yet delivered" includes the delayed set: deliveries between retries
      const states: DeliveryState[] = options.failed ? ["failed"] : [...DELIVERY_STATES];
      const deliveries = await withDeadLetter((dl) => dl.list({ states, limit: options.limit }));
      console.log(options.json ? JSON.stringify(deliveries, null, 2) : formatDeliveries(deliveries, options.attempts === true));
    });
}

interface ReplayOptions {
  allFailed?: boolean;
  job?: string;
  provider?: string;
  webhookId?: string;
  json?: boolean;
}

function replayCommand(): Command {
  return new Command("replay")
    .description("send deliveries again: same webhook-id and body, a fresh retry schedule")
    .argument("[id]", "a failed delivery's id, as `kiln webhooks list --failed` prints it")
    .option("--all-failed", "replay every delivery in the failed set")
    .option("--job <id>", "a generation job's latest delivery of each event (started, completed, failed), delivered or not")
    .option("--provider <name>", "with --job: look only in this provider's queue")
    .option("--webhook-id <msg_id>", "the delivery with this webhook-id (as a receiver saw it), delivered or not")
    .option("--json", "print { replayed, total, results: [{ id, replayed, reason?, state? }] } as one JSON document")
    .action(async (id: string | undefined, options: ReplayOptions, command: Command) => {
      // exactly one way of naming deliveries: a bare `replay` must not quietly mean "all"
      const named = [id !== undefined, options.allFailed === true, options.job !== undefined, options.webhookId !== undefined];
      if (named.filter(Boolean).length !== 1)
        command.error("kiln: give exactly one of a delivery id, --all-failed, --job <id> or --webhook-id <msg_id>", {
          exitCode: EXIT.usage,
        });
      const env = loadEnvironment();
      const results = await withDeadLetter((dl) => replayed(dl, env, id, options));
      if (options.json) printJson({ replayed: results.filter((r) => r.replayed).length, total: results.length, results });
      else {
        for (const r of results) console.log(r.replayed ? `replayed ${r.id}` : `not replayed ${r.id}: ${r.reason}`);
        console.log(`${results.filter((r) => r.replayed).length} of ${results.length} replayed`);
      }
      // unknown (3) before refused (4): scripts can tell "nothing there" from "there, but not now"
      if (results.some((r) => !r.replayed && r.state === undefined)) process.exitCode = EXIT.notFound;
      else if (results.some((r) => !r.replayed)) process.exitCode = EXIT.conflict;
    });
}

/** Replays what the options name; a job or webhook-id that names no kept delivery is exit 3. */
async function replayed(dl: DeadLetter, env: Environment, id: string | undefined, o: ReplayOptions): Promise<ReplayResult[]> {
  if (id !== undefined) return [await dl.replay(id)];
  if (o.allFailed) return dl.replayAllFailed();
  if (o.webhookId !== undefined) {
    const found = await dl.findByMessageId(o.webhookId);
    if (!found) throw new CliExit(EXIT.notFound, `no delivery with webhook-id ${o.webhookId}`);
    return [await dl.resend(found)];
  }
  const jobId = o.job ?? "";
  const deliveries = await latestDeliveriesOf(dl, env, jobId, o.provider);
  if (deliveries.length === 0) throw new CliExit(EXIT.notFound, `no webhook deliveries of job ${jobId} are kept`);
  const results: ReplayResult[] = [];
  for (const delivery of deliveries) results.push(await dl.resend(delivery));
  return results;
}

/** For each event of the job, the delivery of its latest run that the webhooks queue still keeps. */
async function latestDeliveriesOf(dl: DeadLetter, env: Environment, jobId: string, provider: string | undefined): Promise<string[]> {
  const client = new GenerationClient({ ...queueLocationOf(env), log: stderrLogger() });
  try {
    const candidates = await client.deliveryIdsOf(jobId, provider);
    if (!candidates) throw new CliExit(EXIT.notFound, `no job ${jobId}`);
    const latest = new Map<string, string>();
    // latest run first: an event's first delivery found is its latest
    for (const { event, deliveryId } of candidates) if (!latest.has(event) && (await dl.get(deliveryId))) latest.set(event, deliveryId);
    return [...latest.values()];
  } finally {
    await client.close();
  }
}

/** Runs `fn` with a DeadLetter on the configured Redis and prefix, and closes both afterwards. */
async function withDeadLetter<T>(fn: (dl: DeadLetter) => Promise<T>): Promise<T> {
  const env = loadEnvironment();
  // a producer connection fails fast: an operator at a terminal should hear about a Redis outage
  const connection = connectRedis(redisTargetOf(env), "producer");
  const deadLetter = new DeadLetter({ connection, prefix: env.KILN_PREFIX, partitions: env.KILN_PARTITIONS, log: stderrLogger() });
  try {
    return await fn(deadLetter);
  } finally {
    await deadLetter.close();
    await connection.quit().catch(() => undefined);
  }
}

/** A fixed-width table, plus one indented line per attempt when asked. */
export function formatDeliveries(deliveries: DeliverySummary[], withAttempts: boolean): string {
  if (deliveries.length === 0) return "no deliveries";
  const rows = deliveries.map((d) => [d.id, d.state, d.event, d.jobId, d.host, String(d.history.length), lastOutcome(d)]);
  const header = ["id", "state", "event", "job", "host", "attempts", "last status / error"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  // the last column is free text (an error message): padding it would only add trailing blanks
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ");
  const out = [line(header), line(widths.map((w) => "-".repeat(w)))];
  deliveries.forEach((d, i) => {
    out.push(line(rows[i] ?? []));
    if (withAttempts)
      d.history.forEach((a, n) => out.push(`    #${n + 1}  ${a.at}  ${a.status ?? "---"}  ${a.durationMs} ms  ${a.error ?? "delivered"}`));
  });
  return out.join("\n");
}

/** The last attempt's status, then why it failed: BullMQ's final reason once failed, else the attempt's error. */
function lastOutcome(d: DeliverySummary): string {
  const why = d.state === "failed" ? (d.failedReason ?? d.lastError) : d.lastError;
  return [d.lastStatus === undefined ? "" : String(d.lastStatus), why ?? ""].filter(Boolean).join(" ") || "-";
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}
