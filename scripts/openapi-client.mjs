#!/usr/bin/env node
// Writes kiln's OpenAPI document and the TypeScript types openapi-typescript generates from it
// (`paths`, `components`: what openapi-fetch's createClient<paths>() takes) into generated/
// (git-ignored), or into --out. The document comes from a running server with --from <url of
// /openapi.json>, else from the compiled route table (run `npm run build` first; `npm run
// openapi:client` does).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import openapiTS, { astToString } from "openapi-typescript";

const { values } = parseArgs({ options: { from: { type: "string" }, out: { type: "string", default: "generated" } } });

async function documentOf(from) {
  if (from) {
    const answer = await fetch(from);
    if (!answer.ok) throw new Error(`GET ${from}: ${answer.status}`);
    return answer.json();
  }
  const [{ openApiDocument }, { documentedRoutes }, { kilnVersion }] = await Promise.all([
    import("../dist/server/openapi.js"),
    import("../dist/server/route-schemas.js"),
    import("../dist/util/kiln-version.js"),
  ]);
  return openApiDocument(documentedRoutes(), kilnVersion());
}

try {
  const document = await documentOf(values.from);
  await mkdir(values.out, { recursive: true });
  await writeFile(join(values.out, "openapi.json"), `${JSON.stringify(document, null, 2)}\n`);
  const types = astToString(await openapiTS(document));
  await writeFile(join(values.out, "kiln-api.d.ts"), types);
  console.log(`openapi-client: wrote ${join(values.out, "openapi.json")} and ${join(values.out, "kiln-api.d.ts")}`);
} catch (err) {
  console.error(`openapi-client: ${err.message}`);
  process.exit(1);
}
