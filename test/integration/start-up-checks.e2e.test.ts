import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { getFreePort } from "@kiln/dev-tools";
import { call, eventually } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { kiln } from "../support/kiln-cli.js";
import { startRedisProcess, type RedisProcessHandle } from "../support/redis-server.js";
import { ensureBucket } from "../support/s3-server.js";
import { WorkerProcess } from "../support/worker-process.js";

/** A worker that should refuse to start but does not is killed after this long (it then "exits" -1). */
const REFUSAL_MS = 20_000;

/** The JSON log lines of a worker's output at `level` (pino's number: 40 warn, 50 error). */
function logLines(output: string, level: number): Array<Record<string, unknown> & { msg: string }> {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown> & { msg: string })
    .filter((line) => line.level === level);
}

describe("kiln worker's start-up checks, on a real worker process", () => {
  const h = new KilnHarness();
  let evicting: RedisProcessHandle;
  beforeAll(async () => {
    await h.start({ workers: false });
    evicting = await startRedisProcess({ extraArgs: ["--maxmemory-policy", "allkeys-lru"] });
  });
  afterAll(async () => {
    await evicting?.stop();
    await h.close();
  });

  it("a bucket that does not exist: exit 2 with one kiln: line naming the bucket and what to fix, and nothing left in the bucket", async () => {
    const bucket = `kiln-missing-${Date.now()}`;
    const { code, stderr } = await kiln(["worker"], { ...h.rawEnv, S3_BUCKET: bucket }, { timeoutMs: REFUSAL_MS });
    expect(code).toBe(2);
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^kiln: start-up check failed: archive s3://${bucket}: put refused: NoSuchBucket`));
    expect(lines[0]).toContain("create it, or fix S3_BUCKET");
    expect(lines[0]).toContain("KILN_STARTUP_CHECKS=warn");
  });

  it("a bucket that exists: the probe's object is deleted again", async () => {
    // a bucket of its own: other files' workers probe the shared one at the same time
    const s3 = { ...inject("s3"), bucket: `kiln-probe-${Date.now()}` };
    await ensureBucket(s3);
    const worker = await new WorkerProcess({ ...h.rawEnv, S3_BUCKET: s3.bucket }).start();
    await worker.stop();
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: s3.forcePathStyle,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: "kiln/.kiln-probe/" }));
    client.destroy();
    expect(listed.KeyCount ?? 0).toBe(0);
    expect(logLines(worker.output.join(""), 30).find((l) => l.msg === "start-up checks")?.checks).toContain(
      `archive s3://${s3.bucket}: ok`,
    );
  });

  it("an archive directory that cannot be written (a file stands where it should be): exit 2 naming ARCHIVE_DIR", async () => {
    const local = Object.fromEntries(Object.entries(h.rawEnv).filter(([name]) => !name.startsWith("S3_")));
    const blocked = join(await mkdtemp(join(tmpdir(), "kiln-blocked-")), "a-file");
    await writeFile(blocked, "not a directory");
    const { code, stderr } = await kiln(["worker"], { ...local, ARCHIVE_DIR: join(blocked, "archive") }, { timeoutMs: REFUSAL_MS });
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/^kiln: start-up check failed: archive file:\/\/.*\/a-file\/archive: put failed: .*ENOTDIR/);
    expect(stderr).toContain("ARCHIVE_DIR must be a writable directory");
  });

  it("a Redis whose maxmemory-policy may evict jobs: exit 2 naming the policy and noeviction", async () => {
    const { code, stderr } = await kiln(["worker"], { ...h.rawEnv, REDIS_URL: evicting.url }, { timeoutMs: REFUSAL_MS });
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(
      /^kiln: start-up check failed: redis 127\.0\.0\.1:\d+: Redis \d+\.\d+\.\d+, maxmemory-policy allkeys-lru: set maxmemory-policy noeviction/,
    );
  });

  it("a provider base URL whose host name resolves to a private address warns once at start, naming the address and KILN_ALLOW_PRIVATE_URLS, and the worker runs", async () => {
    const { KILN_ALLOW_PRIVATE_URLS: _allowed, GATEWAY_API_KEY: _g, WCODE_API_KEY: _w, ...env } = h.rawEnv;
    const port = new URL(h.rawEnv.TOKENHUB_BASE_URL!).port;
    const worker = await new WorkerProcess({ ...env, TOKENHUB_BASE_URL: `http://localhost:${port}` }).start();
    await worker.stop();
    const warnings = logLines(worker.output.join(""), 40).filter((l) => l.msg.includes("base URL is on a private address"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ check: "provider", target: `tokenhub http://localhost:${port}` });
    // resolved by DNS, not recognised by name: the address is what the message names
    expect(warnings[0]!.msg).toMatch(/private address \((127\.0\.0\.1|::1)/);
    expect(warnings[0]!.msg).toContain("KILN_ALLOW_PRIVATE_URLS=true");
  });

  it("KILN_STARTUP_CHECKS=warn: a missing bucket is logged once at error and the worker starts; /readyz reports the archive until the bucket exists", async () => {
    const bucket = `kiln-later-${Date.now()}`;
    const port = await getFreePort();
    const worker = await new WorkerProcess({
      ...h.rawEnv,
      S3_BUCKET: bucket,
      KILN_STARTUP_CHECKS: "warn",
      KILN_ARCHIVE_CHECK_INTERVAL: "1s",
      KILN_HTTP_PORT: String(port),
      KILN_HTTP_HOST: "127.0.0.1",
    }).start();
    try {
      const errors = logLines(worker.output.join(""), 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ check: "archive", target: `s3://${bucket}` });
      expect(errors[0]!.msg).toMatch(/^start-up check failed \(KILN_STARTUP_CHECKS=warn\): put refused: NoSuchBucket/);

      const base = `http://127.0.0.1:${port}`;
      const notReady = await eventually(
        () => call(base, "GET", "/readyz"),
        (a) => a.body.checks?.workers?.ok === true,
      );
      expect(notReady.status).toBe(503);
      expect(notReady.body.checks.archive.ok).toBe(false);
      expect(notReady.body.error.message).toMatch(new RegExp(`archive: s3://${bucket}: put refused: NoSuchBucket`));

      await ensureBucket({ ...inject("s3"), bucket });
      const ready = await eventually(
        () => call(base, "GET", "/readyz"),
        (a) => a.status === 200,
      );
      expect(ready.body).toEqual({ status: "ready", checks: { redis: { ok: true }, workers: { ok: true }, archive: { ok: true } } });
    } finally {
      await worker.stop();
    }
  });
});

describe("kiln doctor", () => {
  /** An S3 endpoint that takes connections and never answers. */
  let silent: Server;
  const sockets = new Set<Socket>();
  const h = new KilnHarness();
  beforeAll(async () => {
    await h.start({ workers: false });
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    await h.close();
  });

  it("an S3 that takes the connection and never answers is a warning after the probe's 10 s, not a hang", async () => {
    const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const started = Date.now();
    const { code, stdout } = await kiln(["doctor", "--json"], { ...h.rawEnv, S3_ENDPOINT: endpoint }, { timeoutMs: 30_000 });
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(25_000);
    const archive = (JSON.parse(stdout) as { checks: Array<{ check: string; status: string; detail: string }> }).checks.find(
      (c) => c.check === "archive",
    )!;
    expect(archive.status).toBe("warn");
    expect(archive.detail).toMatch(/^put got no answer: /);
  });

  /** The table's rows by their first two columns. */
  function rowsOf(stdout: string): Map<string, string[]> {
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^check\s+target\s+status\s+detail$/);
    return new Map(
      lines.slice(2).map((line) => {
        const [check, target, status, ...detail] = line.split(/\s{2,}/);
        return [`${check} ${target}`, [status!, detail.join("  ")]];
      }),
    );
  }

  it("runs the worker's checks and the settings it needs, prints a row for each, and exits 0 when none fails", async () => {
    const { code, stdout } = await kiln(["doctor"], h.rawEnv, { timeoutMs: REFUSAL_MS });
    expect(code).toBe(0);
    const rows = rowsOf(stdout);
    const s3 = inject("s3");
    expect([...rows.keys()].sort()).toEqual(
      [
        "config KILN_WEBHOOK_SECRET",
        "config providers",
        `archive s3://${s3.bucket}`,
        `redis ${new URL(h.rawEnv.REDIS_URL!).host}`,
        `provider tokenhub ${h.rawEnv.TOKENHUB_BASE_URL}`,
        `provider gateway ${h.rawEnv.GATEWAY_BASE_URL}`,
        `provider wcode ${h.rawEnv.WCODE_BASE_URL}`,
      ].sort(),
    );
    for (const [name, [status]] of rows) expect(status, name).toBe("ok");
    expect(rows.get(`archive s3://${s3.bucket}`)![1]).toBe("put and delete under kiln/.kiln-probe/");
    expect(rows.get("config providers")![1]).toBe("credentials for tokenhub, gateway, wcode");
  });

  it("exits 1 and marks each failure: a missing bucket and no webhook secret (--json)", async () => {
    const { KILN_WEBHOOK_SECRET: _secret, ...env } = h.rawEnv;
    const bucket = `kiln-absent-${Date.now()}`;
    const { code, stdout, stderr } = await kiln(["doctor", "--json"], { ...env, S3_BUCKET: bucket }, { timeoutMs: REFUSAL_MS });
    expect(code).toBe(1);
    expect(stderr.trim()).toBe("kiln: 2 check(s) failed");
    const report = JSON.parse(stdout) as { ok: boolean; checks: Array<{ check: string; target: string; status: string; detail: string }> };
    expect(report.ok).toBe(false);
    const failed = report.checks.filter((c) => c.status === "fail");
    expect(failed.map((c) => `${c.check} ${c.target}`).sort()).toEqual([`archive s3://${bucket}`, "config KILN_WEBHOOK_SECRET"]);
    expect(failed.find((c) => c.check === "archive")!.detail).toMatch(/^put refused: NoSuchBucket/);
  });

  it("a Redis that does not answer is a failed row, not a hang", async () => {
    const port = await getFreePort();
    const { code, stdout } = await kiln(["doctor"], { ...h.rawEnv, REDIS_URL: `redis://127.0.0.1:${port}` }, { timeoutMs: REFUSAL_MS });
    expect(code).toBe(1);
    const [status, detail] = rowsOf(stdout).get(`redis 127.0.0.1:${port}`)!;
    expect(status).toBe("fail");
    expect(detail).toMatch(/^not reachable: Redis not ready after 5000 ms/);
  });
});
