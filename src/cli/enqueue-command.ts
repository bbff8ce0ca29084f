import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { loadEnvironment, queueLocationOf } from "../config/index.js";
import { GenerationClient } from "../producers/generation-client.js";
import type { GenerationRequest } from "../contract/generation-request.js";

/** `kiln enqueue`: one request from flags or a JSON file; prints the job id (and the result with --wait). */
export function enqueueCommand(): Command {
  return new Command("enqueue")
    .description("enqueue one generation request")
    .option("--provider <name>", "provider family", "tokenhub")
    .option("--model <id>", "model id as the provider documents it")
    .option("--input <json>", "the provider's request body without model, as JSON", "{}")
    .option("--webhook <url>", "webhook URL for the result")
    .option("--file <path>", "a whole request as a JSON file (overrides the flags above)")
    .option("--id <id>", "job id (idempotency key)")
    .option("--wait", "wait for the job to end and print its result")
    .action(
      async (o: { provider: string; model?: string; input: string; webhook?: string; file?: string; id?: string; wait?: boolean }) => {
        const env = loadEnvironment();
        const request: unknown = o.file
          ? JSON.parse(await readFile(o.file, "utf8"))
          : {
              provider: o.provider,
              model: o.model,
              input: parseJson(o.input, "--input"),
              ...(o.webhook ? { webhook: { url: o.webhook } } : {}),
            };
        const client = new GenerationClient({ ...queueLocationOf(env), maxJobBytes: env.KILN_MAX_JOB_BYTES });
        try {
          // enqueue checks the request against the schema and names the field that is wrong
          const id = await client.enqueue(request as GenerationRequest, { id: o.id });
          console.log(id);
          if (o.wait) console.log(JSON.stringify(await client.waitFor(id), null, 2));
        } finally {
          await client.close();
        }
      },
    );
}

function parseJson(text: string, flag: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw Object.assign(new Error(`${flag}: not valid JSON (${(err as Error).message})`), { name: "InvalidRequestError" });
  }
}
