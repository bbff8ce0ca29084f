import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findExecutable } from "@kiln/dev-tools";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const SCRIPT = fileURLToPath(new URL("../../scripts/test-prerequisites.sh", import.meta.url));
const dirs: string[] = [];
let trueBin: string;
let idBin: string;

/** A PATH holding only `id` and the named commands (each a link to `true`): what the script may find on it. */
function pathWith(...commands: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "kiln-prereq-"));
  dirs.push(dir);
  symlinkSync(idBin, join(dir, "id"));
  for (const name of commands) symlinkSync(trueBin, join(dir, name));
  return dir;
}

/** Runs the script in report-only mode (it never installs here), with exactly `env`. */
function run(env: Record<string, string>) {
  const result = spawnSync("/bin/sh", [SCRIPT], { env: { KILN_TEST_INSTALL: "false", ...env }, encoding: "utf8" });
  return { status: result.status, lines: result.stdout.trim().split("\n").filter(Boolean) };
}

describe("scripts/test-prerequisites.sh (npm test's pretest)", () => {
  beforeAll(async () => {
    [trueBin, idBin] = (await Promise.all(["true", "id"].map(async (name) => (await findExecutable(name)) ?? `/usr/bin/${name}`))) as [
      string,
      string,
    ];
  });
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it("names each missing prerequisite and the commands that install them, and exits 1", () => {
    const { status, lines } = run({ PATH: pathWith(), KILN_TEST_CHROMIUM: "/nonexistent/chromium" });
    expect(status).toBe(1);
    expect(lines).toEqual([
      "test prerequisites: redis-server is missing (the end-to-end tests start their own Redis servers)",
      "test prerequisites: KILN_TEST_CHROMIUM names /nonexistent/chromium, which is missing (the dashboard test drives it in headless mode)",
      "test prerequisites: no S3 server (S3_ENDPOINT unset, no Docker engine, no moto_server on PATH)",
      "test prerequisites: install them with: sudo apt-get install -y redis-server pipx",
      "test prerequisites: then an S3 server: pipx install 'moto[server]' (moto_server must be on PATH), or set S3_ENDPOINT",
    ]);
  });

  it("passes silently when all are there: S3_ENDPOINT or moto_server on PATH as the S3 server", () => {
    const chromium = trueBin; // an executable file where KILN_TEST_CHROMIUM points
    expect(run({ PATH: pathWith("redis-server"), KILN_TEST_CHROMIUM: chromium, S3_ENDPOINT: "http://127.0.0.1:9" })).toEqual({
      status: 0,
      lines: [],
    });
    expect(run({ PATH: pathWith("redis-server", "moto_server"), KILN_TEST_CHROMIUM: chromium })).toEqual({ status: 0, lines: [] });
  });
});
