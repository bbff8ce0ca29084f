import { Command, InvalidArgumentError, Option } from "commander";
import { loadEnvironment } from "../config/index.js";
import { connectRedis, redisTargetOf } from "../queue/redis.js";
import { DeadLetter, DELIVERY_STATES, type DeliverySummary, type DeliveryState, type ReplayResult } from "../webhooks/dead-letter.js";

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

function replayCommand(): Command {
  return new Command("replay")
    .description("send failed deliveries again: same webhook-id and body, a fresh retry schedule")
    .argument("[id]", "delivery id, as `kiln webhooks list --failed` prints it")
    .option("--all-failed", "replay every delivery in the failed set")
    .action(async (id: string | undefined, options: { allFailed?: boolean }, command: Command) => {
      // exactly one of the two: a bare `replay` must not quietly mean "all"
      if ((id === undefined) === (options.allFailed !== true))
        command.error("kiln: give either a delivery id or --all-failed", { exitCode: 2 });
      const results = await withDeadLetter(async (dl) => (id === undefined ? dl.replayAllFailed() : [await dl.replay(id)]));
      for (const r of results) console.log(r.replayed ? `replayed ${r.id}` : `not replayed ${r.id}: ${r.reason}`);
      console.log(`${results.filter((r) => r.replayed).length} of ${results.length} replayed`);
      // 3, as `kiln status` uses for an unknown job: scripts can tell "nothing to do" from a crash
      if (results.some((r: ReplayResult) => !r.replayed)) process.exitCode = 3;
    });
}

/** Runs `fn` with a DeadLetter on the configured Redis and prefix, and closes both afterwards. */
async function withDeadLetter<T>(fn: (dl: DeadLetter) => Promise<T>): Promise<T> {
  const env = loadEnvironment();
  // a producer connection fails fast: an operator at a terminal should hear about a Redis outage
  const connection = connectRedis(redisTargetOf(env), "producer");
  const deadLetter = new DeadLetter({ connection, prefix: env.KILN_PREFIX, partitions: env.KILN_PARTITIONS });
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
