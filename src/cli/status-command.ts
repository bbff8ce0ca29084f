import { Command } from "commander";
import { loadEnvironment, queueLocationOf, secretScrubberOf } from "../config/index.js";
import { GenerationClient } from "../producers/generation-client.js";

/** `kiln status <id>`: the job's state, step, progress and result as JSON. */
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
        // a result stored before provider text was scrubbed must not show a secret either
        console.log(
          secretScrubberOf(env)
            .forJson()
            .scrub(JSON.stringify(status, null, 2)),
        );
      } finally {
        await client.close();
      }
    });
}
