import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { loadEnvironment, queueLocationOf } from "../config/index.js";
import { GenerationClient } from "../producers/generation-client.js";
import type { GenerationRequest, ReuseOption } from "../contract/generation-request.js";
import { reuseOf } from "./reuse-flags.js";
import { InvalidRequestError } from "../contract/invalid-request-error.js";
import { EXIT } from "./cli-exit.js";
import { printJson, stderrLogger } from "./cli-output.js";

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
    .option(
      "--tenant <id>",
      "the service the request comes from (fair shares, budgets, tokens); with --file, the file's own unless it names none",
    )
    .option("--reuse-ttl <seconds>", "reuse an identical generation at most this old, or share one running (docs/reuse.md)")
    .option("--reuse-unseeded", "with --reuse-ttl: reuse even though the input has no seed")
    .option("--wait", "wait for the job to end and print its status as one JSON document (exit 1 when it failed)")
    .option("--json", "print { id, provider, created } as one JSON document (with --wait: the final status, as --wait alone)")
    .action(
      async (o: {
        provider: string;
        model?: string;
        input: string;
        webhook?: string;
        file?: string;
        id?: string;
        tenant?: string;
        reuseTtl?: string;
        reuseUnseeded?: boolean;
        wait?: boolean;
        json?: boolean;
      }) => {
        const env = loadEnvironment();
        const request = withTenant(
          o.file
            ? parseJson(await readText(o.file, "--file"), `--file ${o.file}`)
            : {
                provider: o.provider,
                model: o.model,
                input: parseJson(o.input, "--input"),
                ...(o.webhook ? { webhook: { url: o.webhook } } : {}),
              },
          o.tenant,
          reuseOf(o),
        );
        const client = new GenerationClient({ ...queueLocationOf(env), maxJobBytes: env.KILN_MAX_JOB_BYTES, log: stderrLogger() });
        try {
          // enqueue checks the request against the schema and names the field that is wrong
          // with --id, the same request again finds the job; a different one under the id fails (exit 4), as HTTP's 409
          const enqueued = await client.enqueueOnce(request as GenerationRequest, { id: o.id });
          const { id } = enqueued;
          if (!o.wait) return o.json ? printJson(enqueued) : console.log(id);
          // one JSON document on stdout (the id is in it), so a script can pipe it to jq
          const status = await client.waitFor(id);
          printJson(status);
          if (status.state !== "completed") process.exitCode = EXIT.failed;
        } finally {
          await client.close();
        }
      },
    );
}

/**
 * The request with `--tenant` as its tenant and `--reuse-ttl` as its reuse; a file naming another
 * tenant is an input error naming both. A file's own reuse gives way to the flags'.
 */
function withTenant(request: unknown, tenant: string | undefined, reuse: ReuseOption | undefined): unknown {
  if (typeof request !== "object" || request === null || Array.isArray(request)) return request;
  const withReuse = reuse ? { ...request, reuse } : request;
  if (tenant === undefined) return withReuse;
  const named = (request as { tenant?: unknown }).tenant;
  if (named !== undefined && named !== tenant)
    throw new InvalidRequestError(`--tenant: ${tenant}, but the request names tenant ${JSON.stringify(named)}`);
  return { ...withReuse, tenant };
}

/** `text` as JSON; else an input error naming the flag (`kiln: ...`, exit 2), never a stack trace. */
function parseJson(text: string, flag: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidRequestError(`${flag}: not valid JSON (${(err as Error).message})`);
  }
}

/** The file's text; a missing or unreadable file is an input error naming the flag and the reason. */
async function readText(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidRequestError(
      `${flag}: cannot read ${path} (${code === "ENOENT" ? "no such file" : (code ?? (err as Error).message)})`,
    );
  }
}
