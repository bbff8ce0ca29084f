import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { GenerationClient } from "../../src/producers/generation-client.js";
import { cleanPrefix } from "../support/kiln-harness.js";
import { WorkerProcess } from "../support/worker-process.js";

const BIN = fileURLToPath(new URL("../../bin/kiln.js", import.meta.url));

/** `kiln simulate` as a child process, and the banner it printed once it listens. */
async function startSimulator(args = ["--port", "0"]): Promise<{ child: ChildProcess; banner: string }> {
  const child = spawn(process.execPath, [BIN, "simulate", ...args, "--image-ms", "200"], {
    env: { PATH: process.env.PATH ?? "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let banner = "";
  child.stdout.on("data", (d: Buffer) => (banner += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!banner.includes("KILN_ALLOW_PRIVATE_URLS:")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`kiln simulate did not print its banner: ${banner}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, banner };
}

/** The `NAME=value` pairs the banner's indented lines give. */
function variablesOf(banner: string): Record<string, string> {
  const pairs = banner
    .split("\n")
    .filter((line) => line.startsWith("  "))
    .flatMap((line) => line.trim().split(/\s+/))
    .map((pair) => pair.split("=") as [string, string]);
  return Object.fromEntries(pairs);
}

describe("kiln simulate, then kiln worker with the variables its banner prints", () => {
  const prefixes = [`{kiln-sim-${randomBytes(3).toString("hex")}}`, `{kiln-sim-${randomBytes(3).toString("hex")}}`];
  const workers: WorkerProcess[] = [];
  const clients: GenerationClient[] = [];
  let simulator: { child: ChildProcess; banner: string };
  beforeAll(async () => {
    simulator = await startSimulator();
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    for (const c of clients) await c.close();
    simulator?.child.kill();
    for (const prefix of prefixes) await cleanPrefix(inject("redisUrl"), prefix);
  });

  async function run(prefix: string, variables: Record<string, string>) {
    const worker = await new WorkerProcess({
      ...variables,
      REDIS_URL: inject("redisUrl"),
      KILN_PREFIX: prefix,
      KILN_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString("base64")}`,
      ARCHIVE_DIR: `/tmp/kiln-sim-path-${prefix.slice(10, 16)}`,
    }).start();
    workers.push(worker);
    const client = new GenerationClient({ redisUrl: inject("redisUrl"), prefix });
    clients.push(client);
    const id = await client.enqueue({ provider: "tokenhub", model: "hy-image-v3.0", input: { prompt: "a lighthouse" } });
    return { worker, status: await client.waitFor(id, { timeoutMs: 30_000 }) };
  }

  it("the banner names all three providers and the exact variables, and a worker started with them completes a job", async () => {
    const { banner } = simulator;
    for (const provider of ["TokenHub", "gateway", "wcode"]) expect(banner).toContain(provider);
    const variables = variablesOf(banner);
    expect(Object.keys(variables).sort()).toEqual([
      "GATEWAY_API_KEY",
      "GATEWAY_BASE_URL",
      "KILN_ALLOW_PRIVATE_URLS",
      "TOKENHUB_API_KEY",
      "TOKENHUB_BASE_URL",
      "WCODE_API_KEY",
      "WCODE_BASE_URL",
    ]);
    const { status } = await run(prefixes[0]!, variables);
    expect(status.state, JSON.stringify(status)).toBe("completed");
  });

  it("without KILN_ALLOW_PRIVATE_URLS the worker warns at start, naming it, before any job fails on the simulator's private result URLs", async () => {
    const { KILN_ALLOW_PRIVATE_URLS: _allowed, ...without } = variablesOf(simulator.banner);
    const { worker, status } = await run(prefixes[1]!, without);
    const warnings = worker.output
      .join("")
      .split("\n")
      .filter((line) => line.includes('"level":40') && line.includes("base URL is on a private address"));
    // each a start-up check's warning, its target the provider and the base URL
    const targets = warnings.map((line) => (JSON.parse(line) as { check: string; target: string }).target.split(" ")[0]);
    expect(targets.sort()).toEqual(["gateway", "tokenhub", "wcode"]);
    for (const line of warnings) expect(line).toContain("KILN_ALLOW_PRIVATE_URLS=true");
    // what the warning announced: the task ran, its result URL was refused
    expect(status.result?.error?.message).toMatch(/non-public address/);
  });
});

/** A port free at the time of asking. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("kiln simulate --public-url: the name workers reach it by (a compose service) in its answers", () => {
  let simulator: { child: ChildProcess; banner: string } | undefined;
  afterAll(() => simulator?.child.kill());

  it("the banner's base URLs and the result URLs of its answers start with the public URL, not the bound address", async () => {
    const port = await freePort();
    // localhost resolves here as a compose service name would in its network; 127.0.0.1 is what is bound
    const publicUrl = `http://localhost:${port}`;
    simulator = await startSimulator(["--host", "127.0.0.1", "--port", String(port), "--public-url", `${publicUrl}/`]);
    const variables = variablesOf(simulator.banner);
    expect([variables.TOKENHUB_BASE_URL, variables.GATEWAY_BASE_URL, variables.WCODE_BASE_URL]).toEqual([
      publicUrl,
      `${publicUrl}/gateway`,
      `${publicUrl}/wcode/api/gpt/v1`,
    ]);
    const answer = await fetch(`http://127.0.0.1:${port}/v1/api/image/lite`, {
      method: "POST",
      headers: { authorization: "Bearer any-key", "content-type": "application/json" },
      body: JSON.stringify({ model: "hy-image-lite", prompt: "a harbour" }),
    });
    const { data } = (await answer.json()) as { data: { url: string }[] };
    expect(data[0]?.url.startsWith(`${publicUrl}/files/`), data[0]?.url).toBe(true);
    expect((await fetch(data[0]!.url)).status).toBe(200);
  });

  it("a --public-url that is not an http URL is a usage error", async () => {
    const run = spawn(process.execPath, [BIN, "simulate", "--public-url", "simulator:8089"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    run.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => run.on("exit", resolve));
    expect(code).toBe(2);
    expect(stderr).toContain("not an http:// or https:// URL: simulator:8089");
  });
});
