import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeModuleLogHook } from "../support/module-log.js";

const run = promisify(execFile);
const BIN = fileURLToPath(new URL("../../bin/kiln.js", import.meta.url));
const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));

/**
 * What a process loads at start-up, read from Node's own module resolution: a resolve hook
 * (module.register, Node ≥ 20.6) appends every URL it resolves to a file.
 */
describe("start-up loads only what the command needs", () => {
  let dir: string;
  let hook: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kiln-modules-"));
    hook = (await writeModuleLogHook(dir)).register;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** The module URLs a node process resolved while running `args`. */
  async function modulesLoadedBy(args: string[], env: Record<string, string> = {}): Promise<string[]> {
    const log = join(dir, `modules-${Math.random().toString(36).slice(2)}.log`);
    await run(process.execPath, ["--import", hook, ...args], {
      env: { PATH: process.env.PATH ?? "", ...env, KILN_TEST_MODULE_LOG: log },
    });
    return (await readFile(log, "utf8")).split("\n").filter(Boolean);
  }

  const heavy = (modules: string[], name: string) => modules.filter((url) => url.includes(`/node_modules/${name}/`));

  it("`kiln bulk` loads neither the HTTP server nor the worker, the dashboard or S3", async () => {
    const modules = await modulesLoadedBy([BIN, "bulk", "--help"]);
    // the hook works: the bulk command and BullMQ were seen
    expect(modules.some((url) => url.endsWith("/cli/bulk-command.js"))).toBe(true);
    expect(heavy(modules, "bullmq").length).toBeGreaterThan(0);
    expect(heavy(modules, "fastify")).toEqual([]);
    expect(heavy(modules, "@bull-board")).toEqual([]);
    expect(heavy(modules, "@aws-sdk")).toEqual([]);
    expect(modules.filter((url) => url.endsWith("/cli/worker-command.js") || url.endsWith("/server/http-server.js"))).toEqual([]);
  });

  it("tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT): no OpenTelemetry SDK, exporter, instrumentation or bullmq-otel is loaded", async () => {
    const tracing = (modules: string[]) =>
      modules.filter((url) => /\/node_modules\/(@opentelemetry\/(sdk-|exporter-|instrumentation|resources)|bullmq-otel\/)/.test(url));
    const off = await modulesLoadedBy([BIN, "bulk", "--help"]);
    expect(off.some((url) => url.endsWith("/telemetry/tracing.js"))).toBe(true);
    expect(tracing(off)).toEqual([]);
    // the same command with an endpoint loads them: the check above can see them
    const on = await modulesLoadedBy([BIN, "bulk", "--help"], { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9/" });
    expect(tracing(on).some((url) => url.includes("/@opentelemetry/sdk-trace-node/"))).toBe(true);
    expect(tracing(on).some((url) => url.includes("/bullmq-otel/"))).toBe(true);
  });

  it("`kiln --help` still lists every command", async () => {
    const { stdout } = await run(process.execPath, [BIN, "--help"]);
    for (const command of ["worker", "server", "simulate", "enqueue", "status", "cancel", "bulk", "webhooks", "demo"])
      expect(stdout).toContain(`  ${command}`);
  });

  it("the HTTP server loads bull-board only when a dashboard is configured", async () => {
    const modules = await modulesLoadedBy(["-e", `import(${JSON.stringify(pathToFileURL(join(DIST, "server/http-server.js")).href)})`]);
    expect(modules.some((url) => url.endsWith("/server/http-server.js"))).toBe(true);
    expect(heavy(modules, "fastify").length).toBeGreaterThan(0);
    expect(heavy(modules, "@bull-board")).toEqual([]);
  });
});
