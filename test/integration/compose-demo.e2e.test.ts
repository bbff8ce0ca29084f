import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { getFreePort } from "@kiln/dev-tools";
import { composeServices, runnable, type ComposeService } from "../support/compose-file.js";
import { ensureBucket } from "../support/s3-server.js";

const run = promisify(execFile);
const BIN = fileURLToPath(new URL("../../bin/kiln.js", import.meta.url));

/**
 * docker-compose.yml's demo profile without Docker (this machine has no engine, so its containers
 * never run here): each service's own command and environment, as compose resolves them from a
 * .env that holds only the passwords, run as processes here. Only addresses change: a service's
 * `name:port` becomes 127.0.0.1 and a free port, a mount's target the file it mounts. Redis runs
 * with the redis service's own arguments, S3 is the test run's moto_server.
 */
describe("compose's demo profile, its commands run without containers", () => {
  const services = composeServices();
  const children: ChildProcess[] = [];
  const output = new Map<string, string>();
  const s3 = inject("s3");
  // .env's values: the passwords, no provider key, no webhook secret
  const vars = {
    REDIS_PASSWORD: randomBytes(12).toString("hex"),
    MINIO_ROOT_USER: s3.accessKeyId,
    MINIO_ROOT_PASSWORD: s3.secretAccessKey,
  };
  const addresses: Record<string, string> = {};
  let redisDir = "";

  /** `args` as a child process (the image's entrypoint is `node bin/kiln.js`, or `command` itself). */
  function start(name: string, command: string, args: string[], env: Record<string, string>): ChildProcess {
    const child = spawn(command, args, { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    output.set(name, "");
    const keep = (d: Buffer) => output.set(name, (output.get(name) ?? "") + d.toString());
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    children.push(child);
    return child;
  }

  /** Waits as `depends_on: { condition: service_healthy }` does: until the service's healthcheck exits 0. */
  async function healthy(name: string, healthcheck: string[] | undefined): Promise<void> {
    const [command, ...args] = healthcheck ?? [];
    expect(command, `${name} has a healthcheck`).toBe("node");
    const deadline = Date.now() + 30_000;
    for (;;) {
      const passed = await run(process.execPath, args).then(
        () => true,
        () => false,
      );
      if (passed) return;
      if (Date.now() > deadline) throw new Error(`${name} never became healthy:\n${output.get(name)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  const byCommand = (subcommand: string): [string, ComposeService] => {
    const found = Object.entries(services).find(([, s]) => s.profiles?.includes("demo") && [s.command ?? []].flat()[0] === subcommand);
    if (!found) throw new Error(`the demo profile has no service running kiln ${subcommand}`);
    return found;
  };

  beforeAll(async () => {
    const endpoint = new URL(s3.endpoint);
    const [redisPort, simulatorPort, workerPort] = [await getFreePort(), await getFreePort(), await getFreePort()];
    Object.assign(addresses, {
      "redis:6379": `127.0.0.1:${redisPort}`,
      "minio:9000": endpoint.host,
      "simulator:8089": `127.0.0.1:${simulatorPort}`,
      "127.0.0.1:8089": `127.0.0.1:${simulatorPort}`,
      "127.0.0.1:8080": `127.0.0.1:${workerPort}`,
    });
    // the redis service's own arguments, on a port and directory of this machine
    redisDir = await mkdtemp(join(tmpdir(), "kiln-compose-demo-"));
    const redis = runnable(services.redis!, vars, addresses);
    const [server, ...redisArgs] = redis.args;
    start("redis", server!, [...redisArgs, "--port", String(redisPort), "--bind", "127.0.0.1", "--dir", redisDir], {});
    // retried until redis-server listens; PONG needs the password the redis service requires
    const probe = new Redis(`redis://:${vars.REDIS_PASSWORD}@127.0.0.1:${redisPort}`, { retryStrategy: () => 100 });
    probe.on("error", () => undefined);
    expect(await probe.ping()).toBe("PONG");
    probe.disconnect();
    // what minio-setup does: the bucket the services name
    const worker = runnable(byCommand("worker")[1], vars, addresses);
    await ensureBucket({ ...s3, bucket: worker.env.S3_BUCKET! });
  });

  afterAll(async () => {
    for (const child of children.reverse()) {
      child.kill("SIGTERM");
      if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
    }
    await rm(redisDir, { recursive: true, force: true });
  });

  it("the simulator, a worker on it for all three providers, and the batch of requests: every job completes, with a cost from the mounted prices", async () => {
    const [simulatorName, simulatorService] = byCommand("simulate");
    const simulator = runnable(simulatorService, vars, addresses);
    // its port inside the container, 8089, is a free one here
    const simulatorArgs = simulator.args.map((a, i) =>
      simulator.args[i - 1] === "--port" ? addresses["simulator:8089"]!.split(":")[1]! : a,
    );
    start(simulatorName, process.execPath, [BIN, ...simulatorArgs], simulator.env);
    await healthy(simulatorName, simulator.healthcheck);
    // KILN_HTTP_PORT is the one port a service's healthcheck reads inside its container
    const [workerName, workerService] = byCommand("worker");
    const worker = runnable(workerService, vars, addresses);
    const workerPort = addresses["127.0.0.1:8080"]!.split(":")[1]!;
    start(workerName, process.execPath, [BIN, ...worker.args], { ...worker.env, KILN_HTTP_PORT: workerPort });
    await healthy(workerName, worker.healthcheck);

    const [enqueueName, enqueueService] = byCommand("bulk");
    const enqueue = runnable(enqueueService, vars, addresses);
    // --json: the same batch, its final status as one document to read here
    const done = await run(process.execPath, [BIN, ...enqueue.args, "--json"], {
      env: { PATH: process.env.PATH ?? "", ...enqueue.env },
    }).catch((err: { code: number; stdout: string; stderr: string }) => err);
    const batch = JSON.parse(done.stdout) as {
      status: { counts: Record<string, number>; summary: { totals: { cost?: { currency: string }; uncosted: number } } };
    };
    expect(batch.status.counts, `${enqueueName}: ${done.stderr}\n${workerName}: ${output.get(workerName)}`).toMatchObject({
      completed: 5,
      failed: 0,
    });

    // the simulator saw all three providers; every job has a cost, from the mounted demo price table
    const stats = (await (await fetch(`http://${addresses["simulator:8089"]}/__simulator/stats`)).json()) as {
      submissions: { provider: string }[];
    };
    expect(new Set(stats.submissions.map((s) => s.provider))).toEqual(new Set(["tokenhub", "gateway", "wcode"]));
    expect(batch.status.summary.totals).toMatchObject({ cost: { currency: "CNY" }, uncosted: 0 });
  });
});
