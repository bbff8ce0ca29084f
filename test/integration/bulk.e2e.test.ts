import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DIRECTIVES } from "@kiln/dev-tools";
import { KilnHarness } from "../support/kiln-harness.js";
import { storedText } from "../support/archive-check.js";
import { kiln } from "../support/kiln-cli.js";

/** `kiln bulk` as a real process. */
const bulk = (args: string[], env: Record<string, string>) => kiln(["bulk", ...args], env);

describe("bulk manifests", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kiln-bulk-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  let h: KilnHarness;
  afterEach(() => h.close());

  it("a 2,000-line manifest runs to a complete results.jsonl; bad lines are reported by number; a re-run submits nothing again", async () => {
    h = await new KilnHarness().start({
      simulator: { outputBytes: { image: 2_000, video: 2_000, model: 2_000, preview: 1_000 } },
      env: { KILN_CONCURRENCY: "100" },
    });
    const lines: string[] = [];
    for (let i = 1; i <= 2000; i++) {
      const text = i % 3 === 0;
      const prompt = i === 7 ? `refused ${DIRECTIVES.fail}` : `bulk line ${i}`;
      lines.push(
        JSON.stringify(
          text
            ? { custom_id: `req:${i}`, provider: "wcode", model: "hunyuan-lite", input: { messages: [{ role: "user", content: prompt }] } }
            : { custom_id: `req:${i}`, provider: "tokenhub", model: "hy-image-v3.0", input: { prompt } },
        ),
      );
    }
    lines.splice(
      100,
      0,
      "{not json",
      JSON.stringify({ provider: "tokenhub", model: "hy-image-v3.0", input: { prompt: "no custom id" } }),
      JSON.stringify({ custom_id: "bad-model", provider: "tokenhub", model: "nope", input: {} }),
      JSON.stringify({ custom_id: "req:5", provider: "tokenhub", model: "hy-image-lite", input: { prompt: "repeat" } }),
    );
    const manifest = join(dir, "manifest.jsonl");
    await writeFile(manifest, lines.join("\n") + "\n");
    const env = { REDIS_URL: h.env.REDIS_URL, KILN_PREFIX: h.prefix };

    const first = await bulk([manifest, "--batch-id", "b2000", "--webhook", h.receiver.url, "--wait"], { ...env, ...h.rawEnv });
    // invalid lines and a failed job: the batch did not fully succeed (exit 1, docs/cli.md)
    expect(first.code, first.stderr).toBe(1);
    expect(first.stdout).toContain("batch b2000: 2000 jobs (2000 new), 4 invalid lines");
    // not a terminal: counted lines, no redrawn bar
    expect(first.stderr).toMatch(/^enqueue: \d+ lines read, \d+ jobs, \d+ invalid lines$/m);
    expect(first.stderr).not.toMatch(/[█░]/);
    expect(first.stderr).toContain("line 101: not valid JSON");
    expect(first.stderr).toContain("line 102: custom_id: required");
    expect(first.stderr).toMatch(/line 103: model: unknown tokenhub model "nope"/);
    expect(first.stderr).toContain('line 104: custom_id "req:5" repeats line 5');
    expect(first.stdout).toMatch(/batch b2000 completed: 1999 completed, 1 failed, 4 invalid lines; results at s3:\/\//);

    const summary = (await h.client.getBatch("b2000"))!.summary!;
    const results = (await storedText(h.workers!.store, summary.results.key))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(summary.results.key).toBe("kiln/batches/b2000/results.jsonl");
    expect(results).toHaveLength(2000);
    expect(new Set(results.map((r) => r.custom_id)).size).toBe(2000);
    const failed = results.filter((r) => r.status === "failed");
    expect(failed).toEqual([
      {
        custom_id: "req:7",
        id: expect.stringMatching(/^b2000\.req_7-[0-9a-f]{12}$/),
        status: "failed",
        outputs: [],
        error: { code: "task_failed", message: expect.stringContaining("content policy") },
      },
    ]);
    expect(results.find((r) => r.custom_id === "req:1").outputs[0]).toMatchObject({
      contentType: "image/png",
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    await h.receiver.waitFor((r) => r.some((d) => d.payload.type === "batch.completed"));
    const hook = h.receiver.received.find((d) => d.payload.type === "batch.completed")!;
    expect(hook.payload.data).toMatchObject({ id: "b2000", counts: { total: 2000, completed: 1999, failed: 1, invalid: 4 } });
    expect(hook.verified).toBe(true);

    const submissions = h.simulator.stats().submissions.length;
    expect(submissions).toBe(2000);
    const again = await bulk([manifest, "--batch-id", "b2000"], env);
    expect(again.stdout).toContain("batch b2000 already completed: nothing added");
    expect(h.simulator.stats().submissions).toHaveLength(submissions);
  }, 240_000);

  it("re-running a batch that is still running adds no job twice, and the default batch id follows the manifest's bytes", async () => {
    h = await new KilnHarness().start({ workers: false });
    const manifest = join(dir, "small.jsonl");
    await writeFile(
      manifest,
      [1, 2, 3]
        .map((i) => JSON.stringify({ custom_id: `s${i}`, provider: "tokenhub", model: "hy-image-lite", input: { prompt: `small ${i}` } }))
        .join("\n"),
    );
    const env = { REDIS_URL: h.env.REDIS_URL, KILN_PREFIX: h.prefix };
    const first = await bulk([manifest], env);
    // every line valid, no --wait: exit 0
    expect(first.code, first.stderr).toBe(0);
    const batchId = /batch (batch-[0-9a-f]{16}): 3 jobs \(3 new\)/.exec(first.stdout)?.[1];
    expect(batchId, first.stdout + first.stderr).toBeDefined();
    const second = await bulk([manifest], env);
    expect(second.stdout).toContain(`batch ${batchId} already enqueued (3 jobs, 0 invalid lines): nothing added`);
    expect((await h.client.getBatch(batchId!))!).toMatchObject({
      state: "waiting-children",
      sealed: true,
      total: 3,
      counts: { completed: 0, failed: 0, pending: 3 },
    });
    await h.startWorkers();
    for (let s = await h.client.getBatch(batchId!); s?.state !== "completed"; s = await h.client.getBatch(batchId!))
      await new Promise((r) => setTimeout(r, 100));
    expect((await h.client.getBatch(batchId!))!.summary!.counts).toEqual({ total: 3, completed: 3, failed: 0, invalid: 0 });
    expect(h.simulator.stats().submissions).toHaveLength(3);
  }, 60_000);

  it("two producers cannot enqueue the same batch at once", async () => {
    h = await new KilnHarness().start({ workers: false });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* slow() {
      yield { custom_id: "x1", provider: "wcode", model: "hunyuan-lite", input: { messages: [{ role: "user", content: "one" }] } };
      await gate;
    }
    const first = h.client.enqueueBatch(slow(), { batchId: "contended" });
    // the first holds the lock while its manifest is still being read
    for (let s = await h.client.getBatch("contended"); !s; s = await h.client.getBatch("contended"))
      await new Promise((r) => setTimeout(r, 10));
    await expect(h.client.enqueueBatch([], { batchId: "contended" })).rejects.toThrow(/being enqueued by another producer/);
    release();
    expect(await first).toMatchObject({ total: 1, added: 1 });
  });

  it("GenerationClient.enqueueBatch runs TypeScript producers' batches the same way", async () => {
    h = await new KilnHarness().start();
    const requests = ["a", "b"].map((id) => ({
      custom_id: id,
      provider: "wcode",
      model: "hunyuan-lite",
      input: { messages: [{ role: "user", content: `ts ${id}` }] },
    }));
    const enqueued = await h.client.enqueueBatch(requests, { batchId: "ts-batch" });
    expect(enqueued).toEqual({ batchId: "ts-batch", total: 2, invalid: 0, added: 2, alreadyCompleted: false, alreadySealed: false });
    for (let s = await h.client.getBatch("ts-batch"); s?.state !== "completed"; s = await h.client.getBatch("ts-batch"))
      await new Promise((r) => setTimeout(r, 50));
    const summary = (await h.client.getBatch("ts-batch"))!.summary!;
    const lines = (await storedText(h.workers!.store, summary.results.key))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.custom_id, l.status]).sort()).toEqual([
      ["a", "completed"],
      ["b", "completed"],
    ]);
  });
});
