#!/usr/bin/env node
// Writes schema/generation-request.schema.json from the zod schema in
// src/contract/generation-request.ts (compiled: run `npm run build` first; `npm run schema`
// does). With --check, writes nothing and exits 1 when the committed file differs, so CI
// catches a schema change that was not regenerated.
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { z } from "zod";

const OUT = fileURLToPath(new URL("../schema/generation-request.schema.json", import.meta.url));
const SOURCE = "src/contract/generation-request.ts";

const { GenerationRequest } = await import("../dist/contract/generation-request.js").catch((err) => {
  console.error(`json-schema: cannot load the compiled schema (${err.message}); run \`npm run build\` first`);
  process.exit(2);
});

/** The contract as producers see it: the input side of the schema (what they may send). */
function generate() {
  // unrepresentable parts (a refine's logic, a custom check) become "anything": the worker still checks them
  const body = z.toJSONSchema(GenerationRequest, { target: "draft-2020-12", io: "input", unrepresentable: "any" });
  const { $schema, ...rest } = body;
  return {
    $schema,
    $id: "urn:kiln:schema:generation-request:v1",
    title: "kiln generation request (v1)",
    description:
      "Job data of a `generate` job on the BullMQ queue `generate-<provider>` under kiln's key prefix. " +
      `Generated from ${SOURCE} by \`npm run schema\`; do not edit. The worker also checks what JSON Schema ` +
      "cannot say: the model exists for the provider, `input` per model, the size of `webhook.secret`, " +
      "that `input` and `metadata` nest at most 64 levels, and that the job is at most KILN_MAX_JOB_BYTES of JSON (default 1 MiB).",
    ...rest,
  };
}

const text = `${JSON.stringify(generate(), null, 2)}\n`;
if (process.argv.includes("--check")) {
  const committed = await readFile(OUT, "utf8").catch(() => undefined);
  if (committed !== text) {
    console.error(
      `schema/generation-request.schema.json is ${committed === undefined ? "missing" : "stale"}: it no longer matches ${SOURCE}.\n` +
        "Run `npm run schema` and commit the result.",
    );
    process.exit(1);
  }
  console.log("schema/generation-request.schema.json is up to date");
} else {
  await writeFile(OUT, text);
  console.log(`wrote ${OUT}`);
}
