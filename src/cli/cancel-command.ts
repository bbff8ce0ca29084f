import { Command } from "commander";
import { loadEnvironment, queueLocationOf } from "../config/index.js";
import { GenerationClient } from "../producers/generation-client.js";
import { CliExit, EXIT } from "./cli-exit.js";
import { printJson, stderrLogger } from "./cli-output.js";

/** `kiln cancel <id>`: ends a job that has not finished as failed with code `cancelled`. */
export function cancelCommand(): Command {
  return new Command("cancel")
    .description("cancel a generation job (waiting and delayed jobs end now, an active one at its next step)")
    .argument("<id>", "job id")
    .option("--provider <name>", "look only in this provider's queue")
    .option("--reason <text>", "why, as the failure message", "cancelled by request")
    .option("--json", "print the outcome as one JSON document: { id, state, cancelled }")
    .action(async (id: string, o: { provider?: string; reason: string; json?: boolean }) => {
      const env = loadEnvironment();
      const client = new GenerationClient({ ...queueLocationOf(env), log: stderrLogger() });
      try {
        // an unknown id is exit 3, as for `kiln status`
        if (!(await client.get(id, o.provider))) throw new CliExit(EXIT.notFound, `no job ${id}`);
        const outcome = await client.cancel(id, { provider: o.provider, reason: o.reason });
        if (o.json) printJson(outcome);
        // a job that already ended cannot be cancelled: 4, as HTTP's 409
        if (!outcome.cancelled) throw new CliExit(EXIT.conflict, `${id} already ${outcome.state}: nothing to cancel`);
        if (!o.json) console.log(`cancel requested for ${id} (was ${outcome.state})`);
      } finally {
        await client.close();
      }
    });
}
