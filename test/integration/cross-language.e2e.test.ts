import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
// ajv 8 (the version fastify's @fastify/ajv-compiler uses): a real draft 2020-12 validator, independent of zod
import { Ajv2020 } from "ajv/dist/2020.js";
import * as ajvFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";

const run = promisify(execFile);
const PRODUCER = fileURLToPath(new URL("../fixtures/raw-bullmq-enqueue.mjs", import.meta.url));
const SCHEMA = fileURLToPath(new URL("../../schema/generation-request.schema.json", import.meta.url));

/** The committed JSON Schema, compiled by ajv with its format checks (uri). */
async function schemaValidator() {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  // a CommonJS module seen from ESM: its module.exports is `default`, and the plugin is that object's `default` too
  ajvFormats.default.default(ajv);
  return ajv.compile(JSON.parse(await readFile(SCHEMA, "utf8")) as object);
}

/** Adds a job the way another service would: a separate process with BullMQ and a JSON object. */
async function enqueueFromAnotherProcess(h: KilnHarness, queue: string, jobId: string | undefined, job: object): Promise<string> {
  const { stdout } = await run(process.execPath, [PRODUCER, queue, jobId ?? "-", JSON.stringify(job)], {
    env: { PATH: process.env.PATH ?? "", REDIS_URL: h.env.REDIS_URL, KILN_PREFIX: h.prefix },
    // outside the repository's tree the fixture could not resolve kiln's sources even if it tried
    cwd: fileURLToPath(new URL("../fixtures/", import.meta.url)),
  });
  return stdout.trim();
}

describe("producers in any language: BullMQ, the queue contract and the JSON Schema", () => {
  const h = new KilnHarness();
  beforeAll(() => h.start({ archive: "local" }));
  afterAll(() => h.close());

  /** A job as a Python or Go service would write it: plain JSON, nothing from kiln. */
  const job = (prompt: string) => ({
    provider: "tokenhub",
    model: "HY-Image-V3.0",
    input: { prompt },
    webhook: { url: h.receiver.url, events: ["generation.completed", "generation.failed"] },
    metadata: { from: "another service" },
  });

  it("the committed JSON Schema accepts that job and refuses what the worker refuses", async () => {
    const validate = await schemaValidator();
    expect(validate(job("a lighthouse")), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...job("x"), webhok: { url: "https://example.com" } })).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({ keyword: "additionalProperties", params: { additionalProperty: "webhok" } });
    const { input: _input, ...noInput } = job("x");
    expect(validate(noInput)).toBe(false);
    expect(validate({ ...job("x"), webhook: { url: "not a url" } })).toBe(false);
    expect(validate({ ...job("x"), webhook: { url: "https://example.com", events: ["generation.finished"] } })).toBe(false);
    for (const prefix of ["/", "a//b", "a/", "../x", "a/./b", "a\u0000b", "x".repeat(513)])
      expect(validate({ ...job("x"), archive: { prefix } }), prefix).toBe(false);
    expect(validate({ ...job("x"), archive: { prefix: "team-a/renders" } })).toBe(true);
  });

  it("a job added by a process that has only bullmq is processed to completion by kiln's workers", async () => {
    const request = job(`from another process ${Date.now()}`);
    const id = await enqueueFromAnotherProcess(h, "generate-tokenhub", "order-77-cover", request);
    expect(id).toBe("order-77-cover");
    const status = await h.client.waitFor(id, { provider: "tokenhub", timeoutMs: 20_000 });
    expect(status.state).toBe("completed");
    expect(status.result).toMatchObject({ id, status: "completed", model: "hy-image-v3.0", metadata: { from: "another service" } });
    expect(status.result!.outputs).toHaveLength(1);
    await h.receiver.waitFor(() => h.receiver.of(id).length === 1);
    expect(h.receiver.of(id)[0]!.payload.type).toBe("generation.completed");
  });

  it("a job without a job id gets BullMQ's own id, which kiln finds with the provider named", async () => {
    const id = await enqueueFromAnotherProcess(h, "generate-tokenhub", undefined, job(`no id ${Date.now()}`));
    expect(id).toMatch(/^\d+$/);
    const status = await h.client.waitFor(id, { provider: "tokenhub", timeoutMs: 20_000 });
    expect(status.state).toBe("completed");
  });
});
