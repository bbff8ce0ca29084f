import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ArchivedOutput } from "../../src/contract/generation-result.js";
import { createLogger } from "../../src/logger.js";
import { startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { startKilnWorkers } from "../../src/workers/kiln-workers.js";
import { API_TOKEN, call, untilRedisConnected } from "../fixtures/http-api-client.js";
import { kiln } from "../support/kiln-cli.js";
import { KilnHarness } from "../support/kiln-harness.js";
import type { ReceivedWebhook } from "../support/webhook-receiver.js";

const silent = createLogger({ level: "silent" });
const READ_TOKEN = "test-read-token-0123456789abcdef";
/** Long enough for the secret scrubber to act on (it skips secrets under 8 characters): an href must survive it. */
const KEY_ID = "AKIAKILNQ7VX2MK9PL4W";
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** What plain `fetch`, with no credentials of any kind, gets from an href. */
async function fetched(href: string): Promise<{ status: number; sha256: string }> {
  const answer = await fetch(href);
  return { status: answer.status, sha256: sha256(Buffer.from(await answer.arrayBuffer())) };
}

/** The signing instant (`X-Amz-Date`, whole seconds) and the validity (`X-Amz-Expires`, s) signed into a presigned URL. */
function signed(href: string): { at: number; expiresS: number; credential: string } {
  const query = new URL(href).searchParams;
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(query.get("X-Amz-Date") ?? "");
  if (!date) throw new Error(`no X-Amz-Date in ${href}`);
  const [, y, mo, d, h, mi, s] = date.map(Number) as [number, number, number, number, number, number, number];
  return {
    at: Date.UTC(y, mo - 1, d, h, mi, s),
    expiresS: Number(query.get("X-Amz-Expires")),
    credential: query.get("X-Amz-Credential") ?? "",
  };
}

const completedOf = (h: KilnHarness, id: string): ReceivedWebhook[] =>
  h.receiver.of(id).filter((d) => d.payload.type === "generation.completed");
const outputsOf = (delivery: ReceivedWebhook) => delivery.payload.data.outputs as ArchivedOutput[];

/** A completed image job, its generation.completed delivery, and an HTTP server in front, over the run's S3. */
function presignedRun(env: Record<string, string>, webhookSchedule: number[] = [100, 200, 400]) {
  const h = new KilnHarness();
  const s: { http: RunningHttpServer; id: string } = {} as never;
  beforeAll(async () => {
    await h.start({ workers: false, env: { KILN_API_TOKEN: API_TOKEN, KILN_READ_TOKEN: READ_TOKEN, ...env } });
    h.workers = await startKilnWorkers(h.env, silent, { webhookSchedule, rawEnv: h.rawEnv });
    s.http = await startHttpServer(h.env, silent, { port: 0, host: "127.0.0.1" });
    await untilRedisConnected(s.http.url);
    s.id = await h.client.enqueue(h.request("hy-image-v3.0"));
    expect((await h.client.waitFor(s.id, { timeoutMs: 20_000 })).state).toBe("completed");
    await h.receiver.waitFor(() => completedOf(h, s.id).some((d) => d.answeredWith === 204));
  });
  afterAll(async () => {
    await s.http?.close();
    await h.close();
  });
  const view = async (id = s.id) => {
    const answer = await call(s.http.url, "GET", `/v1/generations/${encodeURIComponent(id)}`, { token: READ_TOKEN });
    expect(answer.status).toBe(200);
    return answer.body as { outputs: ArchivedOutput[]; result: { outputs: ArchivedOutput[] } };
  };
  return { h, s, view };
}

describe("KILN_OUTPUT_URLS=presigned, S3 archive: answers and webhooks carry fresh hrefs", () => {
  const { h, s, view } = presignedRun(
    { KILN_OUTPUT_URLS: "presigned", KILN_OUTPUT_URL_TTL: "10m", S3_ACCESS_KEY_ID: KEY_ID },
    [1500, 1500],
  );

  it("GET /v1/generations/{id}: every output's href fetches the archived bytes with no credentials; expiresAt is its signing + KILN_OUTPUT_URL_TTL", async () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const body = await view();
    const after = Date.now();
    expect(body.outputs.length).toBeGreaterThan(0);
    for (const [i, output] of body.outputs.entries()) {
      expect(output.href).toBeDefined();
      expect(await fetched(output.href!)).toEqual({ status: 200, sha256: output.sha256 });
      const sig = signed(output.href!);
      // moto serves a presigned URL whatever its age (checked: an hour past expiry still answers 200),
      // so expiry is checked where S3 reads it: the validity signed into the URL
      expect(sig.expiresS).toBe(600);
      expect(sig.at).toBeGreaterThanOrEqual(before);
      expect(sig.at).toBeLessThanOrEqual(after);
      expect(output.expiresAt).toBe(new Date(sig.at + 600_000).toISOString());
      // the S3 key id is a configured secret, scrubbed from answers: not from inside a URL signed with it
      expect(sig.credential.startsWith(`${KEY_ID}/`)).toBe(true);
      expect(body.result.outputs[i]).toEqual(output);
    }
  });

  it("the events stream's completed event carries the view with an href per output that fetches the archived bytes", async () => {
    const answer = await fetch(`${s.http.url}/v1/generations/${encodeURIComponent(s.id)}/events`, {
      headers: { authorization: `Bearer ${READ_TOKEN}` },
    });
    expect(answer.headers.get("content-type")).toMatch(/^text\/event-stream/);
    // a job that ended: its final event at once, then the stream closes
    const text = await answer.text();
    const completed = /event: completed\ndata: (.*)\n/.exec(text);
    expect(completed, text).not.toBeNull();
    const outputs = (JSON.parse(completed![1]!) as { outputs: ArchivedOutput[] }).outputs;
    expect(outputs.length).toBeGreaterThan(0);
    for (const output of outputs) {
      expect(output.expiresAt).toBeDefined();
      expect(signed(output.href!).credential.startsWith(`${KEY_ID}/`)).toBe(true);
      expect(await fetched(output.href!)).toEqual({ status: 200, sha256: output.sha256 });
    }
  });

  it("the stored result carries no href: links are minted per read", async () => {
    const stored = await h.client.get(s.id);
    expect(stored!.result!.outputs.length).toBeGreaterThan(0);
    for (const output of stored!.result!.outputs) expect(output).not.toHaveProperty("href");
  });

  it("generation.completed carries an href per output that fetches the archived bytes; the body's signature verifies", async () => {
    const [delivery] = completedOf(h, s.id);
    expect(delivery!.verified).toBe(true);
    for (const output of outputsOf(delivery!)) {
      expect(signed(output.href!).credential.startsWith(`${KEY_ID}/`)).toBe(true);
      expect(await fetched(output.href!)).toEqual({ status: 200, sha256: output.sha256 });
    }
  });

  it("a generation.completed retried after a failed attempt carries a fresh href under the same webhook-id", async () => {
    h.receiver.status = (d) => (d.payload.type === "generation.completed" && completedOf(h, d.payload.data.id).length === 0 ? 500 : 204);
    const id = await h.client.enqueue(h.request("hy-image-v3.0"));
    await h.receiver.waitFor(() => completedOf(h, id).some((d) => d.answeredWith === 204));
    const [first, retry] = completedOf(h, id);
    expect(first!.answeredWith).toBe(500);
    expect(retry!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
    expect(retry!.verified).toBe(true);
    const [was, is] = [outputsOf(first!)[0]!, outputsOf(retry!)[0]!];
    // the retry waited 1.5 s: signed at a later second, so it lasts until later
    expect(signed(is.href!).at).toBeGreaterThan(signed(was.href!).at);
    expect(Date.parse(is.expiresAt!)).toBeGreaterThan(Date.parse(was.expiresAt!));
    expect(is.href).not.toBe(was.href);
    expect(await fetched(is.href!)).toEqual({ status: 200, sha256: is.sha256 });
  });

  it("kiln status prints one JSON document whose outputs carry an href that fetches the archived bytes", async () => {
    const run = await kiln(["status", s.id], h.rawEnv);
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout) as { result: { outputs: ArchivedOutput[] } };
    const [output] = printed.result.outputs;
    expect(signed(output!.href!).expiresS).toBe(600);
    expect(output!.expiresAt).toBe(new Date(signed(output!.href!).at + 600_000).toISOString());
    expect(await fetched(output!.href!)).toEqual({ status: 200, sha256: output!.sha256 });
  });

  it("kiln bulk --wait prints a link to the batch's results.jsonl that fetches it with no credentials", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kiln-hrefs-bulk-"));
    try {
      const manifest = join(dir, "manifest.jsonl");
      const line = { custom_id: "one", provider: "wcode", model: "hunyuan-lite", input: { messages: [{ role: "user", content: "hi" }] } };
      await writeFile(manifest, `${JSON.stringify(line)}\n`);
      const run = await kiln(["bulk", manifest, "--batch-id", `hrefs-${Date.now()}`, "--wait"], h.rawEnv);
      expect(run.code, run.stderr).toBe(0);
      const printed = /^results href \(valid until (\S+)\): (\S+)$/m.exec(run.stdout);
      expect(printed, run.stdout).not.toBeNull();
      const [, expiresAt, href] = printed as unknown as [string, string, string];
      expect(expiresAt).toBe(new Date(signed(href).at + 600_000).toISOString());
      const results = await fetch(href);
      expect(results.status).toBe(200);
      expect(JSON.parse((await results.text()).trim())).toMatchObject({ custom_id: "one", status: "completed" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("KILN_OUTPUT_URLS unset (off): no hrefs anywhere", () => {
  const { h, s, view } = presignedRun({});

  it("GET /v1/generations/{id}, generation.completed and kiln status name outputs by s3:// URL only", async () => {
    const body = await view();
    expect(body.outputs.length).toBeGreaterThan(0);
    const [delivery] = completedOf(h, s.id);
    const run = await kiln(["status", s.id], h.rawEnv);
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout) as { result: { outputs: ArchivedOutput[] } };
    for (const output of [...body.outputs, ...body.result.outputs, ...outputsOf(delivery!), ...printed.result.outputs]) {
      expect(output.url).toMatch(/^s3:\/\//);
      expect(output).not.toHaveProperty("href");
      expect(output).not.toHaveProperty("expiresAt");
    }
  });
});

describe("KILN_OUTPUT_URLS=presigned with the local archive", () => {
  let dir: string;
  beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), "kiln-hrefs-"))));
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("is refused at start (kiln status) with exit 2, naming KILN_OUTPUT_URLS, S3_BUCKET and ARCHIVE_DIR", async () => {
    // a reachable Redis: were the setting let through, status would answer quickly (no such job, exit 3)
    const env = { ARCHIVE_DIR: dir, KILN_OUTPUT_URLS: "presigned", REDIS_URL: inject("redisUrl"), KILN_PREFIX: "{kiln-hrefs-none}" };
    const run = await kiln(["status", "any-id"], env);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/KILN_OUTPUT_URLS: presigned needs an S3 archive \(S3_BUCKET\); the local archive \(ARCHIVE_DIR\)/);
  });
});
