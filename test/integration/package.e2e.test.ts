import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateQueueName } from "../../src/contract/queue-names.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { writeModuleLogHook } from "../support/module-log.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

/** The README's TypeScript example, between its `readme-snippet:typescript` markers. */
async function readmeSnippet(): Promise<string> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  const block = /<!-- readme-snippet:typescript -->\s*```ts\n([\s\S]*?)```\s*<!-- \/readme-snippet:typescript -->/.exec(readme);
  if (!block?.[1]) throw new Error("README.md has no ```ts block between <!-- readme-snippet:typescript --> markers");
  return block[1];
}

/** A producer using what the entry exports besides the client: its options, the contract's types, the error guards. */
const TYPES_TS = `import { GenerationRequest, IdConflictError, InvalidRequestError, WebhookPayload, describeIssues, generateQueueName, isIdConflictError, isInvalidRequestError } from "kiln-jobs";
import type { ArchivedOutput, BatchEnqueued, BatchOptions, EventType, GenerationClientOptions, GenerationError, GenerationResult, GenerationStatus } from "kiln-jobs";
const options: GenerationClientOptions = { redisUrl: "redis://127.0.0.1:6379", partitions: 1 };
const batch: BatchOptions = { batchId: "b-1", webhook: { url: "https://example.com/hooks" } };
type Received = { result?: GenerationResult; output?: ArchivedOutput; error?: GenerationError; status?: GenerationStatus; batch?: BatchEnqueued; event?: EventType };
const received: Received = {};
const body: WebhookPayload = WebhookPayload.parse({ type: "generation.progress", timestamp: new Date(0).toISOString(), data: { id: "a", queue: "generate-tokenhub", provider: "tokenhub", model: "m", status: "running", step: "poll" } });
const parsed = GenerationRequest.safeParse({ provider: "tokenhub" });
console.log(JSON.stringify({
  conflict: isIdConflictError(new IdConflictError("taken")),
  invalid: isInvalidRequestError(new InvalidRequestError("model: unknown")),
  issues: parsed.success ? "" : describeIssues(parsed.error),
  queue: generateQueueName("tokenhub"),
  type: body.type,
  typed: [options, batch, received].length,
}));
`;

/**
 * kiln as a producer gets it: `npm pack` of the built checkout, installed with the repository's
 * TypeScript and Node types into a fresh project, which compiles with `tsc --strict` and runs.
 */
describe("the packed package kiln-jobs in a fresh project", () => {
  let dir: string;
  let app: string;
  /** What one failed `tsc --strict` run over index.ts and types.ts printed (the packages' declarations checked too). */
  let tscErrors: string[] = [];
  const h = new KilnHarness();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kiln-package-"));
    app = join(dir, "app");
    await mkdir(app);
    // --ignore-scripts: `prepare` would build again; the e2e run builds first (`npm run test:e2e`)
    const packed = await run(NPM, ["pack", "--ignore-scripts", "--silent", "--pack-destination", dir, ROOT], { cwd: dir });
    const tarball = join(dir, packed.stdout.trim().split("\n").at(-1) ?? "");
    const devDependencies = (JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { devDependencies: Record<string, string> })
      .devDependencies;
    await writeFile(join(app, "package.json"), JSON.stringify({ name: "producer", private: true, type: "module" }));
    await run(
      NPM,
      [
        "install",
        ...["--no-audit", "--no-fund", "--no-package-lock", "--prefer-offline", "--ignore-scripts", "--loglevel=error"],
        tarball,
        `typescript@${devDependencies.typescript}`,
        `@types/node@${devDependencies["@types/node"]}`,
      ],
      { cwd: app },
    );
    // one program for both files: checking the packages' declarations (no skipLibCheck) is most of tsc's time
    await writeFile(join(app, "index.ts"), await readmeSnippet());
    await writeFile(join(app, "types.ts"), TYPES_TS);
    const tsc = [join(app, "node_modules/typescript/bin/tsc"), "--strict", "--module", "nodenext", "--target", "es2022"];
    await run(process.execPath, [...tsc, "--types", "node", "--pretty", "false", "index.ts", "types.ts"], { cwd: app }).catch(
      (err: Error & { stdout?: string }) => {
        tscErrors = (err.stdout || err.message).split("\n").filter(Boolean);
      },
    );
    await h.start({ archive: "local" });
  }, 300_000);
  afterAll(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** tsc's errors about `file` (or about no file of the project: the packages' declarations). */
  const errorsOf = (file: string) => tscErrors.filter((line) => line.startsWith(`${file}(`) || !/^(?:index|types)\.ts\(/.test(line));

  it("the README's TypeScript example compiles with tsc --strict and enqueues a job that a worker completes", async () => {
    expect(errorsOf("index.ts")).toEqual([]);
    const { stdout } = await run(process.execPath, ["index.js"], {
      cwd: app,
      env: { PATH: process.env.PATH ?? "", REDIS_URL: h.env.REDIS_URL, KILN_PREFIX: h.prefix },
      timeout: 60_000,
    });
    expect(stdout).toMatch(/^completed file:\/\//);
    // the job the example enqueued, read back from Redis: the README's request under its id
    const connection = new Redis(h.env.REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(generateQueueName("tokenhub"), { connection, prefix: h.prefix });
    try {
      const job = await queue.getJob("order-42-cover");
      expect(job?.data).toMatchObject({ provider: "tokenhub", model: "hy-image-v3.0", input: { prompt: "a lighthouse at dawn" } });
      expect(await job?.getState()).toBe("completed");
    } finally {
      await queue.close();
      await connection.quit();
    }
  });

  it("the entry exports the client's options, the contract's types and the error guards", async () => {
    expect(errorsOf("types.ts")).toEqual([]);
    const { stdout } = await run(process.execPath, ["types.js"], { cwd: app });
    expect(JSON.parse(stdout)).toMatchObject({
      conflict: true,
      invalid: true,
      issues: expect.stringMatching(/model/),
      queue: "generate-tokenhub",
      type: "generation.progress",
      typed: 3,
    });
  });

  it("importing kiln-jobs loads the client and none of the worker, the HTTP server or S3", async () => {
    // every URL Node resolves (an ESM resolve hook, module.register) and every CommonJS module required
    const log = join(dir, "modules.log");
    const { hooks } = await writeModuleLogHook(dir);
    const main = `import { register, createRequire } from "node:module";
import { appendFileSync } from "node:fs";
register(${JSON.stringify(hooks)});
await import("kiln-jobs");
appendFileSync(${JSON.stringify(log)}, Object.keys(createRequire(import.meta.url).cache).join("\\n") + "\\n");
`;
    await writeFile(join(app, "load.mjs"), main);
    await run(process.execPath, ["load.mjs"], { cwd: app, env: { ...process.env, KILN_TEST_MODULE_LOG: log } });
    const modules = (await readFile(log, "utf8")).split("\n").filter(Boolean);
    const of = (pattern: RegExp) => modules.filter((url) => pattern.test(url));
    // the log works: the entry and the client's packages were seen
    expect(of(/\/node_modules\/kiln-jobs\/dist\/producers\/index\.js$/)).toHaveLength(1);
    expect(of(/\/node_modules\/bullmq\//).length).toBeGreaterThan(0);
    expect(of(/\/node_modules\/ioredis\//).length).toBeGreaterThan(0);
    expect(of(/\/node_modules\/kiln-jobs\/dist\/(?:workers|visit|server|storage|cli|config)\//)).toEqual([]);
    expect(of(/\/node_modules\/(?:fastify|@fastify|@aws-sdk|@bull-board|@kiln)\//)).toEqual([]);
  });

  it("the package's bin runs the kiln CLI", async () => {
    const { stdout } = await run(join(app, "node_modules/.bin/kiln"), ["--help"], { cwd: app });
    for (const command of ["worker", "server", "enqueue", "status", "bulk"]) expect(stdout).toContain(`  ${command}`);
  });
});
