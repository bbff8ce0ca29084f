import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CHECK = join(ROOT, "scripts/check-compose.mjs");
/** What the check reads beside the compose file. */
const FILES = ["docker-compose.yml", ".env.example", "Dockerfile", "deploy"];

/** One change to one of the files, as text: `from` must be there. */
interface Breakage {
  file: string;
  from: string;
  to: string;
}

/**
 * `npm run compose:check` (scripts/check-compose.mjs, on the compiled code) on a copy of the
 * compose file and what it reads, each case with one thing broken: the check must fail, naming it.
 */
describe("scripts/check-compose.mjs", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function check(...breakages: Breakage[]): Promise<{ code: number; output: string }> {
    const dir = await mkdtemp(join(tmpdir(), "kiln-compose-check-"));
    dirs.push(dir);
    for (const name of FILES) await cp(join(ROOT, name), join(dir, name), { recursive: true });
    for (const { file, from, to } of breakages) {
      const text = await readFile(join(dir, file), "utf8");
      expect(text, `${file} holds the text to break`).toContain(from);
      await writeFile(join(dir, file), text.replace(from, to));
    }
    const result = await run(process.execPath, [CHECK, join(dir, "docker-compose.yml")], { env: { PATH: process.env.PATH ?? "" } }).then(
      ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }),
    );
    return result;
  }

  it("passes the files as they are, and says what it did not run", async () => {
    const { code, output } = await check();
    expect(code, output).toBe(0);
    expect(output).toContain("passes kiln's rules");
    expect(output).toMatch(/not run: building the image, starting the containers.*no Docker engine/);
  });

  const compose = (from: string, to: string): Breakage => ({ file: "docker-compose.yml", from, to });
  const cases: [string, Breakage, string][] = [
    [
      "a kiln service whose env_file is required",
      compose("required: false", "required: true"),
      "worker: take every kiln variable from .env",
    ],
    [
      "a variable kiln reads missing from .env.example",
      { file: ".env.example", from: "# KILN_CONCURRENCY=50\n", to: "" },
      ".env.example: add KILN_CONCURRENCY (read by kiln's configuration",
    ],
    [
      "a variable docker-compose.yml reads missing from .env.example",
      { file: ".env.example", from: "# KILN_PRICES_FILE=./deploy/prices.yaml\n", to: "" },
      ".env.example: add KILN_PRICES_FILE (read by docker-compose.yml",
    ],
    [
      "a name in .env.example nothing reads",
      { file: ".env.example", from: "# LOG_LEVEL=info", to: "# LOG_LEVLE=info" },
      ".env.example: LOG_LEVLE: read by neither",
    ],
    [
      "a value compose sets over .env without saying so",
      compose("      KILN_PRICES: /etc/kiln/prices.yaml\n", "      KILN_PRICES: /etc/kiln/prices.yaml\n      LOG_LEVEL: debug\n"),
      "worker: LOG_LEVEL is set by docker-compose.yml over .env",
    ],
    [
      "KILN_PRICES naming no mount",
      compose(":/etc/kiln/prices.yaml:ro", ":/etc/kiln/other.yaml:ro"),
      "worker: KILN_PRICES=/etc/kiln/prices.yaml is no mount's target",
    ],
    [
      "a price table kiln refuses",
      { file: "deploy/prices.yaml", from: "prices: {}", to: "prices: { gateway: { wan2.7-t2v: { per_image: 1 } } }" },
      "gateway.wan2.7-t2v.per_image: not a unit of a video model",
    ],
    [
      "the demo worker on a real provider",
      compose("WCODE_BASE_URL: http://simulator:8089/wcode/api/gpt/v1", "WCODE_BASE_URL: https://wcode.net/api/gpt/v1"),
      "demo-worker: WCODE_BASE_URL: the simulator's",
    ],
    [
      "the demo worker without KILN_ALLOW_PRIVATE_URLS",
      compose('      KILN_ALLOW_PRIVATE_URLS: "true"\n', ""),
      'demo-worker: KILN_ALLOW_PRIVATE_URLS: "true"',
    ],
    [
      "the simulator's result URLs on an address other containers cannot reach",
      compose("      - http://simulator:8089\n", "      - http://127.0.0.1:8089\n"),
      "simulator: --public-url http://simulator:8089",
    ],
    [
      "the simulator built from the product's target",
      compose("build: { context: ., target: demo }", "build: ."),
      "simulator: build the Dockerfile target with kiln's dev tools",
    ],
    [
      "a demo target without the dev tools",
      { file: "Dockerfile", from: "COPY --from=build /app/packages/dev-tools/dist ./packages/dev-tools/dist\n", to: "" },
      "the Dockerfile's demo stage copies no packages/dev-tools/dist",
    ],
    [
      "a depends_on naming no service",
      compose("      demo-worker: { condition: service_healthy }", "      demo-workers: { condition: service_healthy }"),
      "demo-enqueue: depends on demo-workers, which is no service",
    ],
    [
      "a URL naming no service",
      compose("S3_ENDPOINT: http://minio:9000", "S3_ENDPOINT: http://minio-2:9000"),
      "S3_ENDPOINT names the host minio-2, which is no service",
    ],
  ];

  it.each(cases)("fails on %s, naming it", async (_, breakage, message) => {
    const { code, output } = await check(breakage);
    expect(code, output).toBe(1);
    expect(output).toContain(message);
  });
});
