import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIRECTIVES } from "@kiln/dev-tools";
import { MODELS } from "../../src/providers/model-registry.js";
import { validateRequest } from "../../src/producers/validate-request.js";
import type { CatalogModel } from "../../src/providers/model-catalog.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { kiln } from "../support/kiln-cli.js";

/** Every command and subcommand, as a script would name it. */
const COMMANDS = [
  ["worker"],
  ["server"],
  ["simulate"],
  ["enqueue"],
  ["status", "x"],
  ["cancel", "x"],
  ["retry", "x"],
  ["bulk", "x.jsonl"],
  ["webhooks", "list"],
  ["webhooks", "replay", "x"],
  ["models"],
  ["demo"],
];

describe("the CLI for scripts: one exit-code table, --json on stdout alone", () => {
  const h = new KilnHarness();
  let dir: string;
  const cli = (args: string[]) => kiln(args, { REDIS_URL: h.env.REDIS_URL, KILN_PREFIX: h.prefix });
  /** Runs `args` and parses its stdout as one JSON document (which fails if anything else is there). */
  async function json(args: string[], code = 0): Promise<unknown> {
    const run = await cli(args);
    expect(run.code, `${args.join(" ")}: ${run.stderr}`).toBe(code);
    return JSON.parse(run.stdout);
  }

  beforeAll(async () => {
    await h.start();
    dir = await mkdtemp(join(tmpdir(), "kiln-cli-scripts-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await h.close();
  });

  it("exit 2: commander's usage errors (unknown option, missing argument, unknown command, a bad option value) on every command", async () => {
    // the processes run side by side: each is a node start-up
    const unknownOption = await Promise.all(COMMANDS.map((command) => cli([...command, "--no-such-flag"])));
    unknownOption.forEach((run, i) => {
      expect(run.code, `${COMMANDS[i]!.join(" ")}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toMatch(/^kiln: unknown option '--no-such-flag'/);
    });
    const missing = await Promise.all(["status", "cancel", "retry", "bulk"].map((command) => cli([command])));
    expect(missing.map((run) => [run.code, run.stderr.split("\n")[0]])).toEqual([
      [2, "kiln: missing required argument 'id'"],
      [2, "kiln: missing required argument 'id'"],
      [2, "kiln: missing required argument 'id'"],
      [2, "kiln: missing required argument 'manifest'"],
    ]);
    const others = await Promise.all([
      cli(["no-such-command"]),
      cli(["webhooks", "list", "--limit", "0"]),
      cli(["demo", "--timeout", "soon"]),
      cli(["bulk", join(dir, "missing.jsonl")]),
    ]);
    expect(others.map((run) => run.code)).toEqual([2, 2, 2, 2]);
    expect(others[3].stderr).toMatch(/^kiln: manifest: cannot read .*missing\.jsonl \(no such file\)/);
  }, 180_000);

  it("exit 0 and 1: a job that completes, and one that fails (enqueue --wait, bulk with a failed job)", async () => {
    const ok = (await json(["enqueue", "--model", "hy-image-lite", "--input", '{"prompt":"ok"}', "--wait"])) as { state: string };
    expect(ok.state).toBe("completed");
    const manifest = join(dir, "failing.jsonl");
    const line = (id: string, prompt: string) => JSON.stringify({ custom_id: id, ...h.request("hy-image-v3.0", { prompt }) });
    await writeFile(manifest, `${line("a", `fine ${Date.now()}`)}\n${line("b", `bad ${DIRECTIVES.fail} ${Date.now()}`)}\n`);
    const bulk = (await json(["bulk", manifest, "--wait", "--json"], 1)) as { total: number; status: { summary: { counts: object } } };
    expect(bulk).toMatchObject({ total: 2, invalid: 0, status: { state: "completed", summary: { counts: { completed: 1, failed: 1 } } } });
  });

  it("exit 3 (no such job or delivery) and 4 (cancel of a job that ended, a delivery that is not failed)", async () => {
    for (const args of [
      ["status", "nope"],
      ["cancel", "nope"],
      ["retry", "nope"],
      ["webhooks", "replay", "nope"],
      ["webhooks", "replay", "--job", "nope"],
    ]) {
      const run = await cli(args);
      expect(run.code, `${args.join(" ")}: ${run.stderr}`).toBe(3);
    }
    const id = await h.client.enqueue(h.request("hy-image-lite"));
    await h.client.waitFor(id, { timeoutMs: 10_000 });
    const cancel = await cli(["cancel", id]);
    expect([cancel.code, cancel.stderr.trim()]).toEqual([4, `kiln: ${id} already completed: nothing to cancel`]);
    expect(await json(["cancel", id, "--json"], 4)).toEqual({ id, state: "completed", cancelled: false });
    await h.receiver.waitFor(() => h.receiver.of(id).length === 1);
    const delivered = await cli(["webhooks", "replay", await h.deliveryIdOf(id)]);
    expect(delivered.code).toBe(4);
  });

  it("--json prints exactly one JSON document on stdout: enqueue, status, cancel, webhooks list and replay, models", async () => {
    await h.workers?.close();
    h.workers = undefined;
    const enqueued = (await json(["enqueue", "--model", "hy-image-lite", "--input", '{"prompt":"json"}', "--json"])) as { id: string };
    expect(enqueued).toEqual({ id: enqueued.id, provider: "tokenhub", created: true });
    expect(await json(["status", enqueued.id, "--json"])).toMatchObject({ id: enqueued.id, state: "waiting" });
    expect(await json(["cancel", enqueued.id, "--json"])).toEqual({ id: enqueued.id, state: "waiting", cancelled: true });
    expect(Array.isArray(await json(["webhooks", "list", "--json"]))).toBe(true);
    expect(await json(["webhooks", "replay", "--all-failed", "--json"])).toMatchObject({ replayed: 0, total: 0, results: [] });
    expect(await json(["models", "--json"])).toHaveProperty("providers");
    h.workers = await h.startWorkers();
  });

  it("`kiln models --json` lists every model of the registry, with input fields as the validation checks them", async () => {
    const catalog = (await json(["models", "--json"])) as { providers: { name: string; models: CatalogModel[] }[] };
    const listed = catalog.providers.flatMap((p) => p.models.map((m) => `${p.name}/${m.id}`));
    expect(listed.sort()).toEqual(MODELS.map((m) => `${m.provider}/${m.id}`).sort());
    const model = catalog.providers.find((p) => p.name === "tokenhub")?.models.find((m) => m.id === "yt-video-fx");
    const field = (name: string) => model?.input.fields.find((f) => f.name === name);
    expect(model?.kind).toBe("video");
    expect(field("template")).toEqual({ name: "template", type: "string", required: true, minLength: 1 });
    expect(field("images")).toMatchObject({ type: "array of object", required: true, minItems: 1 });
    expect(field("bgm")).toEqual({ name: "bgm", type: "boolean", required: false });
    const request = (input: Record<string, unknown>) => ({ provider: "tokenhub", model: "yt-video-fx", input });
    const valid = { template: "hug", images: [{ url: "https://example.com/a.png" }] };
    // what is listed required is refused when missing, what is listed optional is not needed, bounds hold
    expect(() => validateRequest(request(valid))).not.toThrow();
    expect(() => validateRequest(request({ images: valid.images }))).toThrow(/input\.template/);
    expect(() => validateRequest(request({ template: "hug" }))).toThrow(/input\.images/);
    expect(() => validateRequest(request({ ...valid, images: [] }))).toThrow(/input\.images/);
    expect(() => validateRequest(request({ ...valid, bgm: "yes" }))).toThrow(/input\.bgm/);
  });

  it("`kiln webhooks replay --job` and `--webhook-id` send a delivered webhook again, same webhook-id and body; unknown ones exit 3", async () => {
    const id = await h.client.enqueue(h.request("hy-image-lite"));
    await h.client.waitFor(id, { timeoutMs: 10_000 });
    await h.receiver.waitFor(() => h.receiver.of(id).length === 1);
    const [first] = h.receiver.of(id);
    const byJob = (await json(["webhooks", "replay", "--job", id, "--json"])) as { replayed: number };
    expect(byJob).toEqual({ replayed: 1, total: 1, results: [{ id: await h.deliveryIdOf(id), replayed: true }] });
    await h.receiver.waitFor(() => h.receiver.of(id).length === 2);
    const webhookId = first!.headers["webhook-id"] as string;
    const byWebhookId = await cli(["webhooks", "replay", "--webhook-id", webhookId]);
    expect(byWebhookId.code, byWebhookId.stderr).toBe(0);
    await h.receiver.waitFor(() => h.receiver.of(id).length === 3);
    for (const again of h.receiver.of(id).slice(1)) {
      expect(again.headers["webhook-id"]).toBe(webhookId);
      expect(again.body).toBe(first!.body);
      expect(again.verified).toBe(true);
    }
    const unknown = await cli(["webhooks", "replay", "--webhook-id", "msg_0000"]);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([3, "kiln: no delivery with webhook-id msg_0000"]);
  });
});
