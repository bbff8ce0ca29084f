import { Command } from "commander";
import { loadEnvironment, queueLocationOf } from "../config/index.js";
import { GenerationClient } from "../producers/generation-client.js";
import { CliExit, EXIT } from "./cli-exit.js";
import { printJson, stderrLogger } from "./cli-output.js";

/** `kiln retry <id>`: a failed job runs again under its id, as a new run. */
export function retryCommand(): Command {
  return new Command("retry")
    .description("run a failed generation job again under the same id (a new run: new webhook ids, billed again)")
    .argument("<id>", "job id")
    .option("--provider <name>", "look only in this provider's queue")
    .option("--json", "print the outcome as one JSON document")
    .action(async (id: string, o: { provider?: string; json?: boolean }) => {
      const env = loadEnvironment();
      const client = new GenerationClient({ ...queueLocationOf(env), log: stderrLogger() });
      try {
        const outcome = await client.retry(id, { provider: o.provider });
        if (!outcome) throw new CliExit(EXIT.notFound, `no job ${id}`);
        if (o.json) printJson(outcome);
        // a job still running, completed, in a batch or being retried: the retry is refused (4), as HTTP's 409
        if (!outcome.retried) throw new CliExit(EXIT.conflict, outcome.message);
        if (!o.json) console.log(`retrying ${id} on ${outcome.provider} (run ${outcome.run})`);
      } finally {
        await client.close();
      }
    });
}
