import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";
import { kiln } from "../support/kiln-cli.js";
import { DIRECTIVES } from "@kiln/dev-tools";

describe("the kiln CLI", () => {
  const h = new KilnHarness();
  beforeAll(() => h.start());
  afterAll(() => h.close());

  it("--help lists the commands", async () => {
    const { code, stdout } = await kiln(["--help"], {});
    expect(code).toBe(0);
    for (const command of ["worker", "simulate", "enqueue", "status", "demo"]) expect(stdout).toContain(command);
  });

  it("enqueue --wait runs a request to completion and status reports it", async () => {
    const env = { REDIS_URL: h.env.REDIS_URL, KILN_PREFIX: h.prefix };
    const enqueued = await kiln(
      ["enqueue", "--model", "HY-Image-Lite", "--input", JSON.stringify({ prompt: "cli test" }), "--id", "cli-1", "--wait"],
      env,
    );
    expect(enqueued.code, enqueued.stderr).toBe(0);
    // one JSON document on stdout, the id inside it
    expect(JSON.parse(enqueued.stdout)).toMatchObject({ id: "cli-1", state: "completed" });
    const status = await kiln(["status", "cli-1"], env);
    expect(JSON.parse(status.stdout)).toMatchObject({
      id: "cli-1",
      state: "completed",
      result: { status: "completed", model: "hy-image-lite" },
    });
  });

  it("--version prints the package's version", async () => {
    const { code, stdout } = await kiln(["--version"], {});
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("enqueue with --input that is not JSON, or a --file that is missing or not JSON: `kiln: <message>` naming the flag, exit 2, no stack", async () => {
    const env = { REDIS_URL: h.env.REDIS_URL, KILN_PREFIX: h.prefix };
    const dir = await mkdtemp(join(tmpdir(), "kiln-cli-"));
    try {
      await writeFile(join(dir, "bad.json"), "{not json");
      for (const [args, says] of [
        [["enqueue", "--model", "hy-image-v3.0", "--input", "{bad"], /^kiln: --input: not valid JSON/],
        [["enqueue", "--file", join(dir, "missing.json")], /^kiln: --file: cannot read .*missing\.json \(no such file\)/],
        [["enqueue", "--file", join(dir, "bad.json")], /^kiln: --file .*bad\.json: not valid JSON/],
      ] as const) {
        const { code, stderr } = await kiln([...args], env);
        expect(code, stderr).toBe(2);
        expect(stderr.trim()).toMatch(says);
        expect(stderr).not.toMatch(/\n\s+at /);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("enqueue --wait exits 1 when the job fails, with its status as one JSON document; cancel and status of an unknown id both exit 3", async () => {
    const env = { REDIS_URL: h.env.REDIS_URL, KILN_PREFIX: h.prefix };
    const failed = await kiln(
      ["enqueue", "--model", "hy-image-v3.0", "--input", JSON.stringify({ prompt: `no ${DIRECTIVES.fail}` }), "--wait"],
      env,
    );
    expect(failed.code, failed.stderr).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ state: "failed", result: { error: { code: "task_failed" } } });
    for (const command of ["cancel", "status"]) {
      const unknown = await kiln([command, "no-such-job"], env);
      expect(unknown.code, `${command}: ${unknown.stderr}`).toBe(3);
      expect(unknown.stderr).toMatch(/^kiln: no job no-such-job/);
    }
  });

  it("enqueue --id: the same request again prints the same id (exit 0); a different request under it fails like HTTP's 409 (exit 4)", async () => {
    const env = { REDIS_URL: h.env.REDIS_URL, KILN_PREFIX: h.prefix };
    const args = (prompt: string) => ["enqueue", "--model", "hy-image-lite", "--input", JSON.stringify({ prompt }), "--id", "cli-same"];
    const first = await kiln(args("a lighthouse"), env);
    expect(first.code, first.stderr).toBe(0);
    const again = await kiln(args("a lighthouse"), env);
    expect([again.code, again.stdout.trim()]).toEqual([0, "cli-same"]);
    const other = await kiln(args("a harbour"), env);
    expect(other.code).toBe(4);
    expect(other.stderr.trim()).toMatch(/^kiln: id cli-same is already used by a different request/);
    // the job kept its own request: the other one never reached the provider
    expect((await h.client.waitFor("cli-same", { timeoutMs: 20_000 })).state).toBe("completed");
    const prompts = h.simulator.stats().submissions.map((s) => s.prompt);
    expect([prompts.includes("a lighthouse"), prompts.includes("a harbour")]).toEqual([true, false]);
  });

  it("refuses an invalid request before it reaches Redis, naming the field", async () => {
    const { code, stderr } = await kiln(["enqueue", "--model", "hy-image-v3.0", "--input", "{}"], {
      REDIS_URL: h.env.REDIS_URL,
      KILN_PREFIX: h.prefix,
    });
    expect(code).toBe(2);
    expect(stderr).toContain("input.prompt");
  });

  it("enqueue and bulk refuse a bad archive prefix, id, webhook or depth before Redis, naming the field (exit 2)", async () => {
    const env = { REDIS_URL: h.env.REDIS_URL, KILN_PREFIX: h.prefix };
    const dir = await mkdtemp(join(tmpdir(), "kiln-cli-"));
    try {
      const request = join(dir, "request.json");
      await writeFile(request, JSON.stringify({ ...h.request("hy-image-lite"), archive: { prefix: "/" } }));
      const prefix = await kiln(["enqueue", "--file", request, "--id", "cli-prefix-root"], env);
      expect(prefix.code, prefix.stderr).toBe(2);
      expect(prefix.stderr).toContain("archive.prefix: must not start with '/'");
      let deep: unknown = 1;
      for (let i = 0; i < 2000; i++) deep = [deep];
      const tooDeep = await kiln(["enqueue", "--model", "hy-image-lite", "--input", JSON.stringify({ prompt: "deep", extra: deep })], env);
      expect(tooDeep.code, tooDeep.stderr).toBe(2);
      expect(tooDeep.stderr).toContain("input: nested more than 64 levels deep");
      const dots = await kiln(["enqueue", "--model", "hy-image-lite", "--input", '{"prompt":"dots"}', "--id", ".."], env);
      expect(dots.code, dots.stderr).toBe(2);
      expect(dots.stderr).toContain("id: must be");
      expect(await h.client.get("cli-prefix-root")).toBeUndefined();

      const manifest = join(dir, "manifest.jsonl");
      await writeFile(manifest, `${JSON.stringify({ custom_id: "one", ...h.chatRequest("wcode", "hunyuan-lite") })}\n`);
      const bulkPrefix = await kiln(["bulk", manifest, "--batch-id", "cli-bad-prefix", "--archive-prefix", "../../x"], env);
      expect(bulkPrefix.code, bulkPrefix.stderr).toBe(2);
      expect(bulkPrefix.stderr).toContain("archivePrefix: must not contain '.' or '..' segments");
      const bulkHook = await kiln(["bulk", manifest, "--batch-id", "cli-bad-hook", "--webhook", "file:///etc/passwd"], env);
      expect(bulkHook.code, bulkHook.stderr).toBe(2);
      expect(bulkHook.stderr).toContain("webhook.url: expected an http:// or https:// URL");
      expect(await h.client.getBatch("cli-bad-prefix")).toBeUndefined();
      expect(await h.client.getBatch("cli-bad-hook")).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("status of an unknown job exits 3", async () => {
    const { code, stderr } = await kiln(["status", "no-such-job"], { REDIS_URL: h.env.REDIS_URL, KILN_PREFIX: h.prefix });
    expect(code).toBe(3);
    expect(stderr).toContain("no job no-such-job");
  });

  it("worker start-up stops on a malformed variable and names it", async () => {
    const { code, stderr } = await kiln(["worker"], { ...h.rawEnv, KILN_WEBHOOK_SECRET: "not-a-secret" });
    expect(code).toBe(2);
    expect(stderr).toMatch(/KILN_WEBHOOK_SECRET: expected whsec_/);
    const missing = await kiln(["worker"], { REDIS_URL: h.env.REDIS_URL, KILN_WEBHOOK_SECRET: h.secret });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/TOKENHUB_API_KEY/);
  });
});
