import { execFile } from "node:child_process";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { API_TOKEN, untilRedisConnected } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");

/** A caller's code: openapi-fetch over the generated types, as a client project would write it. */
const CLIENT = `
import createClient from "openapi-fetch";
import type { components, paths } from "./kiln-api.js";

type Generation = components["schemas"]["Generation"];
type ApiErrorCode = components["schemas"]["ApiErrorCode"];

export async function enqueueAndRead(baseUrl: string, token: string) {
  const kiln = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${token}\` } });
  const created = await kiln.POST("/v1/generations", {
    body: { provider: "tokenhub", model: "hy-image-v3.0", input: { prompt: "a lighthouse at dawn" }, metadata: { from: "openapi-fetch" } },
  });
  if (!created.data) throw new Error(\`enqueue: \${created.response.status}\`);
  const id: string = created.data.id;
  const read = await kiln.GET("/v1/generations/{id}", { params: { path: { id }, query: { provider: "tokenhub" } } });
  const generation: Generation | undefined = read.data;
  const missing = await kiln.GET("/v1/generations/{id}", { params: { path: { id: "no-such-generation" } } });
  const code: ApiErrorCode | undefined = missing.error?.error.code;
  return { id, created: created.response.status, state: generation?.state, missing: missing.response.status, code };
}
`;

/** The same client with a provider the API does not know: the generated types must refuse it. */
const WRONG = `
import createClient from "openapi-fetch";
import type { paths } from "./kiln-api.js";

export const wrong = () =>
  createClient<paths>({ baseUrl: "http://127.0.0.1" }).POST("/v1/generations", {
    body: { provider: "nobody", model: "hy-image-v3.0", input: {} },
  });
`;

const COMPILER_OPTIONS = ["--strict", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext", "--skipLibCheck"];

describe("a typed client generated from /openapi.json (openapi-typescript + openapi-fetch)", () => {
  const h = new KilnHarness();
  let http: RunningHttpServer;
  let dir: string;

  beforeAll(async () => {
    await h.start({ workers: false, env: { KILN_API_TOKEN: API_TOKEN } });
    http = await startHttpServer(h.env, createLogger({ level: "silent" }), { port: 0, host: "127.0.0.1" });
    await untilRedisConnected(http.url);
    dir = await mkdtemp(join(tmpdir(), "kiln-openapi-client-"));
    // the client's project: ESM, with kiln's node_modules for openapi-fetch and typescript's libs
    await symlink(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
    await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    await run(process.execPath, [join(ROOT, "scripts", "openapi-client.mjs"), "--from", `${http.url}/openapi.json`, "--out", dir]);
  }, 60_000);
  afterAll(async () => {
    await http?.close();
    await h.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("type-checks a caller's code, then enqueues a generation, reads it back and gets a typed 404 error", async () => {
    await writeFile(join(dir, "client.ts"), CLIENT);
    // tsc exits 0 only if the code type-checks against the generated paths
    await run(process.execPath, [TSC, ...COMPILER_OPTIONS, "client.ts"], { cwd: dir });
    const { enqueueAndRead } = (await import(pathToFileURL(join(dir, "client.js")).href)) as {
      enqueueAndRead: (base: string, token: string) => Promise<Record<string, unknown>>;
    };
    const outcome = await enqueueAndRead(http.url, API_TOKEN);
    expect(outcome).toMatchObject({ created: 201, state: "waiting", missing: 404, code: "not_found" });
    expect((await h.client.get(String(outcome.id)))?.state).toBe("waiting");
  }, 60_000);

  it("refuses, at compile time, a request body the document does not allow (a provider outside the Provider enum)", async () => {
    await writeFile(join(dir, "wrong.ts"), WRONG);
    const failed = await run(process.execPath, [TSC, ...COMPILER_OPTIONS, "--noEmit", "wrong.ts"], { cwd: dir }).then(
      () => undefined,
      (err: { stdout: string }) => err.stdout,
    );
    expect(failed).toMatch(/wrong\.ts.*error TS\d+:[\s\S]*"nobody"/);
  }, 60_000);
});
