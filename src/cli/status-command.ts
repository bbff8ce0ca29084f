import { Command } from "commander";
import { loadEnvironment, queueLocationOf, secretScrubberOf } from "../config/index.js";
import { GenerationClient, type GenerationStatus } from "../producers/generation-client.js";
import { linkedGeneration, oncePerKey } from "../contract/output-link.js";
import { createArchiveStore, outputLinksOf } from "../storage/index.js";
import { CliExit, EXIT } from "./cli-exit.js";
import { stderrLogger } from "./cli-output.js";

/**
 * `kiln status <id>`: the job's state, step, progress and result as JSON; with
 * `KILN_OUTPUT_URLS=presigned`, every output of the result with a fresh `href` and `expiresAt`.
 */
export function statusCommand(): Command {
  return (
    new Command("status")
      .description("show a generation job's state, progress and result")
      .argument("<id>", "job id")
      .option("--provider <name>", "look only in this provider's queue (needed for ids BullMQ minted, which repeat across queues)")
      // the status is JSON either way; the flag is accepted so that every command that prints a result takes it
      .option("--json", "print the status as one JSON document (as without it)")
      .action(async (id: string, o: { provider?: string }) => {
        const env = loadEnvironment();
        const client = new GenerationClient({ ...queueLocationOf(env), log: stderrLogger() });
        try {
          const status = await client.get(id, o.provider);
          if (!status) {
            const where = `prefix ${env.KILN_PREFIX}${env.KILN_PARTITIONS > 1 ? ` (${env.KILN_PARTITIONS} partitions)` : ""}`;
            throw new CliExit(EXIT.notFound, `no job ${id} under ${where}`);
          }
          // a result stored before provider text was scrubbed must not show a secret either; the links
          // come after the scrub, since each carries the S3 key id (a configured secret) it is signed with
          const scrubbed = JSON.parse(secretScrubberOf(env).forJson().scrub(JSON.stringify(status))) as GenerationStatus;
          const presign = outputLinksOf(env, createArchiveStore(env));
          console.log(JSON.stringify(presign ? await linkedGeneration(scrubbed, oncePerKey(presign)) : scrubbed, null, 2));
        } finally {
          await client.close();
        }
      })
  );
}
