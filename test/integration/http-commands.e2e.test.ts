import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { API_TOKEN, call, eventually, sample } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";

const BIN = fileURLToPath(new URL("../../bin/kiln.js", import.meta.url));

/** A built `kiln` command as a child process, and the URL it logged once listening. */
async function startKiln(
  args: string[],
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; output: string[]; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.stdout.on("data", (d: Buffer) => output.push(d.toString()));
  child.stderr.on("data", (d: Buffer) => output.push(d.toString()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const line = output
      .join("")
      .split("\n")
      .find((l) => l.includes('"http server listening"'));
    if (line) return { child, url: (JSON.parse(line) as { url: string }).url, output, exited };
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`kiln ${args.join(" ")} did not start listening:\n${output.join("")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("kiln server and kiln worker serve the HTTP API", () => {
  const h = new KilnHarness();
  const children: ChildProcess[] = [];
  beforeAll(() => h.start({ workers: false, archive: "local" }));
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  });
  afterAll(() => h.close());

  it("`kiln server` alone: health, an authenticated enqueue, status; exits 0 on SIGTERM", async () => {
    const server = await startKiln(["server", "--host", "127.0.0.1"], { ...h.rawEnv, KILN_HTTP_PORT: "0", KILN_API_TOKEN: API_TOKEN });
    children.push(server.child);
    expect((await call(server.url, "GET", "/healthz")).status).toBe(200);
    await eventually(
      () => call(server.url, "GET", "/readyz"),
      (a) => a.status === 200,
    );
    const created = await call(server.url, "POST", "/v1/generations", {
      json: { ...h.request("hy-image-lite"), id: "cmd-server-1" },
      token: API_TOKEN,
    });
    expect(created.status).toBe(201);
    // no workers in this process: the job waits for one
    expect((await call(server.url, "GET", "/v1/generations/cmd-server-1", { token: API_TOKEN })).body).toMatchObject({
      id: "cmd-server-1",
      state: "waiting",
    });
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });

  it("`kiln worker` with KILN_HTTP_PORT: ready with its workers, runs the job, and its /metrics counts it", async () => {
    const worker = await startKiln(["worker"], { ...h.rawEnv, KILN_HTTP_PORT: "0", KILN_API_TOKEN: API_TOKEN });
    children.push(worker.child);
    const ready = await eventually(
      () => call(worker.url, "GET", "/readyz"),
      (a) => a.status === 200,
    );
    expect(ready.body.checks.workers).toEqual({ ok: true });
    // the job the server command left waiting, and one enqueued here
    const created = await call(worker.url, "POST", "/v1/generations", {
      json: { ...h.request("hy-image-v3.0"), id: "cmd-worker-1" },
      token: API_TOKEN,
    });
    expect(created.status).toBe(201);
    for (const id of ["cmd-server-1", "cmd-worker-1"]) {
      await eventually(
        () => call(worker.url, "GET", `/v1/generations/${id}`, { token: API_TOKEN }),
        (a) => a.body.state === "completed",
      );
    }
    const metrics = await call(worker.url, "GET", "/metrics");
    expect(sample(metrics.text, "kiln_generation_step_seconds_count", { provider: "tokenhub", step: "total", status: "completed" })).toBe(
      2,
    );
    expect(sample(metrics.text, "kiln_polls_total", { provider: "tokenhub" })).toBeGreaterThanOrEqual(1);
    worker.child.kill("SIGTERM");
    expect(await worker.exited).toBe(0);
  });
});
