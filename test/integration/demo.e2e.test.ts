import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { kiln } from "../support/kiln-cli.js";
import { cleanPrefix } from "../support/kiln-harness.js";

/** The rows of the demo's "outputs fetched over HTTP" table (between its header rule and the next blank line). */
function fetchedRows(stdout: string): string[][] {
  const section = stdout.split("outputs fetched over HTTP")[1] ?? "";
  const lines = section.split("\n");
  const start = lines.findIndex((l) => l.startsWith("----"));
  const rows: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.trim()) break;
    rows.push(line);
  }
  return rows.map((l) => l.split(/\s{2,}/));
}

/** The archived outputs the demo's archive table lists (rows with a key and a size). */
function archivedCount(stdout: string): number {
  const section = (stdout.split("archived files")[1] ?? "").split("outputs fetched over HTTP")[0] ?? "";
  return section.split("\n").filter((l) => /\s\d+\s+[0-9a-f]{16}$/.test(l)).length;
}

describe("kiln demo, the README's first command", () => {
  const prefixes: string[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const prefix of prefixes) await cleanPrefix(inject("redisUrl"), prefix);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function demo(env: Record<string, string>) {
    const prefix = `{kiln-demo-${prefixes.length}-${Date.now().toString(36)}}`;
    prefixes.push(prefix);
    const dir = await mkdtemp(join(tmpdir(), "kiln-demo-"));
    dirs.push(dir);
    return kiln(["demo", "--archive-dir", join(dir, "archive")], { REDIS_URL: inject("redisUrl"), KILN_PREFIX: prefix, ...env });
  }

  it("fetches every archived output back over the HTTP API, bytes intact (local archive: the bytes themselves)", async () => {
    const { code, stdout, stderr } = await demo({});
    expect(code, stderr + stdout).toBe(0);
    const rows = fetchedRows(stdout);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBe(archivedCount(stdout));
    for (const row of rows) {
      expect(row[1]).toMatch(/^GET \/v1\/generations\/demo-[a-z0-9]+-\d+\/outputs\/\d+$/);
      expect(row[2]).toBe("200");
      expect(row[5]).toBe("yes");
    }
  });

  it("with an S3 archive, each fetch is a redirect to a presigned URL that serves the archived bytes", async () => {
    const s3 = inject("s3");
    const { code, stdout, stderr } = await demo({
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: String(s3.forcePathStyle),
    });
    expect(code, stderr + stdout).toBe(0);
    const rows = fetchedRows(stdout);
    expect(rows.length).toBe(archivedCount(stdout));
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row[2]).toBe("302 → 200");
      expect(row[5]).toBe("yes");
    }
  });
});
