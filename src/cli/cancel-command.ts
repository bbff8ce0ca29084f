import { Command } from "commander";
import { loadEnvironment, queueLocationOf } from "../config/index.js";
import { GenerationClient } from "../producers/generation-client.js";

/** `kiln cancel <id>`: ends a job that has not finished as failed with code `cancelled`. */
export function cancelCommand(): Command {
  return new Command("cancel")
    .description("cancel a generation job (waiting and delayed jobs end now, an active one at its next step)")
    .argument("<id>", "job id")
    .option("--provider <name>", "look only in this provider's queue")
    .option("--reason <text>", "why, as the failure message", "cancelled by request")
    .action(async (id: string, o: { provider?: string; reason: string }) => {
      const env = loadEnvironment();
      const client = new GenerationClient(queueLocationOf(env));
      try {
        // an unknown id is exit 3, as for `kiln status`
        if (!(await client.get(id, o.provider))) {
          console.error(`kiln: no job ${id}`);
          process.exitCode = 3;
          return;
        }
        const outcome = await client.cancel(id, { provider: o.provider, reason: o.reason });
        console.log(
          outcome.cancelled ? `cancel requested for ${id} (was ${outcome.state})` : `${id} already ${outcome.state}: nothing to cancel`,
        );
        process.exitCode = outcome.cancelled ? 0 : 4;
      } finally {
        await client.close();
      }
    });
}
