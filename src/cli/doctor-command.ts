import { Command } from "commander";
import { type Environment, loadEnvironment } from "../config/index.js";
import { configuredBaseUrls } from "../providers/index.js";
import { connectRedis, redisTargetOf, waitReady } from "../queue/redis.js";
import { createArchiveStore } from "../storage/index.js";
import { type CheckOutcome, runStartUpChecks } from "../workers/start-up-checks.js";
import { CliExit, EXIT } from "./cli-exit.js";
import { printJson } from "./cli-output.js";
import { textTable } from "./text-table.js";

const REDIS_WAIT_MS = 5_000;

/**
 * `kiln doctor`: the checks `kiln worker` runs at start (the archive takes a put and a delete,
 * each Redis server's version and eviction policy, each provider base URL's address) and what
 * it would refuse to start without, as a table. Exits 1 when a check fails.
 */
export function doctorCommand(): Command {
  return new Command("doctor")
    .description("run kiln worker's start-up checks (archive, Redis, provider URLs, required settings), print a table; exit 1 on a failure")
    .option("--json", "print { ok, checks: [{ check, target, status, detail }] }")
    .action(async (o: { json?: boolean }) => {
      const env = loadEnvironment();
      const outcomes: CheckOutcome[] = [...requiredSettings(env)];
      const redis = connectRedis(redisTargetOf(env), "producer");
      redis.on("error", () => undefined);
      try {
        // only the wait is Redis's: any other error is a bug to see, not a Redis row
        const reachable = await waitReady(redis, REDIS_WAIT_MS).then(
          () => true,
          (err: unknown) => {
            outcomes.push({
              check: "redis",
              target: redisTargetLabel(env),
              status: "fail",
              detail: `not reachable: ${(err as Error).message}`,
            });
            return false;
          },
        );
        if (reachable)
          outcomes.push(
            ...(await runStartUpChecks({
              store: createArchiveStore(env),
              redis,
              bases: configuredBaseUrls(env),
              allowPrivateUrls: env.KILN_ALLOW_PRIVATE_URLS,
            })),
          );
      } finally {
        redis.disconnect();
      }
      const rows = outcomes.map(({ check, target, status, detail }) => ({ check, target, status, detail }));
      const ok = rows.every((row) => row.status !== "fail");
      if (o.json) printJson({ ok, checks: rows });
      else
        console.log(
          textTable(
            ["check", "target", "status", "detail"],
            rows.map((r) => [r.check, r.target, r.status, r.detail]),
          ),
        );
      if (!ok) throw new CliExit(EXIT.failed, `${rows.filter((r) => r.status === "fail").length} check(s) failed`);
    });
}

/** What `kiln worker` refuses to start without, beyond what the configuration's schema checks. */
function requiredSettings(env: Environment): CheckOutcome[] {
  const bases = configuredBaseUrls(env);
  const providers = [...new Set(bases.map((b) => b.provider))];
  return [
    env.KILN_WEBHOOK_SECRETS
      ? { check: "config", target: "KILN_WEBHOOK_SECRETS", status: "ok", detail: `${env.KILN_WEBHOOK_SECRETS.length} set` }
      : env.KILN_WEBHOOK_SECRET
        ? { check: "config", target: "KILN_WEBHOOK_SECRET", status: "ok", detail: "set" }
        : {
            check: "config",
            target: "KILN_WEBHOOK_SECRET",
            status: "fail",
            detail: "required by kiln worker to sign webhooks (whsec_ + base64), or KILN_WEBHOOK_SECRETS",
          },
    providers.length > 0
      ? { check: "config", target: "providers", status: "ok", detail: `credentials for ${providers.join(", ")}` }
      : {
          check: "config",
          target: "providers",
          status: "fail",
          detail: "no provider has credentials (TOKENHUB_API_KEY, GATEWAY_API_KEY, WCODE_API_KEY)",
        },
  ];
}

function redisTargetLabel(env: Environment): string {
  const target = redisTargetOf(env);
  return "url" in target ? new URL(target.url).host : target.clusterNodes.map((n) => `${n.host}:${n.port}`).join(",");
}
