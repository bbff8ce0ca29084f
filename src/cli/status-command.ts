import { Command } from "commander";
import { loadEnvironment, queueLocationOf, secretScrubberOf } from "../config/index.js";
import { GenerationClient, type GenerationStatus } from "../producers/generation-client.js";
import { linkedOutputs, oncePerKey, type PresignOutput } from "../contract/output-link.js";
import { createArchiveStore, outputLinksOf } from "../storage/index.js";

/**
 * `kiln status <id>`: the job's state, step, progress and result as JSON; with
 * `KILN_OUTPUT_URLS=presigned`, every output of the result with a fresh `href` and `expiresAt`.
 */
export function statusCommand(): Command {
  return new Command("status")
    .description("show a generation job's state, progress and result")
    .argument("<id>", "job id")
    .option("--provider <name>", "look only in this provider's queue (needed for ids BullMQ minted, which repeat across queues)")
    .action(async (id: string, o: { provider?: string }) => {
      const env = loadEnvironment();
      const client = new GenerationClient(queueLocationOf(env));
      try {
        const status = await client.get(id, o.provider);
        if (!status) {
          console.error(
            `kiln: no job ${id} under prefix ${env.KILN_PREFIX}${env.KILN_PARTITIONS > 1 ? ` (${env.KILN_PARTITIONS} partitions)` : ""}`,
          );
          process.exitCode = 3;
          return;
        }
        // a result stored before provider text was scrubbed must not show a secret either; the links
        // come after the scrub, since each carries the S3 key id (a configured secret) it is signed with
        const scrubbed = JSON.parse(secretScrubberOf(env).forJson().scrub(JSON.stringify(status))) as GenerationStatus;
        const presign = outputLinksOf(env, createArchiveStore(env));
        console.log(JSON.stringify(presign ? await linkedStatus(scrubbed, presign) : scrubbed, null, 2));
      } finally {
        await client.close();
      }
    });
}

async function linkedStatus(status: GenerationStatus, presign: PresignOutput): Promise<GenerationStatus> {
  if (!status.result) return status;
  return { ...status, result: { ...status.result, outputs: await linkedOutputs(status.result.outputs, oncePerKey(presign)) } };
}
