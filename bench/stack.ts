import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { request } from "undici";
import { monitorRedis } from "../test/support/redis-monitor.js";
import { getFreePort, startRedisProcess, type RedisProcessHandle } from "@kiln/dev-tools";

/** The repository root: `npm run bench` runs there, and `bin/kiln.js` and `dist-bench/` are found from it. */
export const ROOT = process.cwd();
export const KILN_BIN = join(ROOT, "bin/kiln.js");
export const BASELINE_BIN = join(ROOT, "dist-bench/bench/baselines/bare-worker.js");
export const BENCH_PREFIX = "{bench}";
export const BENCH_API_KEY = "bench";

const children = new Set<ChildProcess>();

/** Child processes of the bench die with it, however it ends (an error, Ctrl-C, a timeout's SIGTERM). */
function track(child: ChildProcess): ChildProcess {
  if (children.size === 0) process.once("exit", () => children.forEach((c) => c.exitCode === null && c.kill("SIGKILL")));
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** One redis-server and one provider simulator, each in its own process, for one row. */
export class BenchStack {
  redisPid = 0;
  simPid = 0;
  simUrl = "";
  private redisProcess?: RedisProcessHandle;
  private sim?: ChildProcess;
  private admin?: Redis;
  private readonly owned: Array<{ stop(): Promise<void> }> = [];
  readonly webhookSecret = `whsec_${randomBytes(24).toString("base64")}`;

  /** `simArgs`: flags of `kiln simulate` (durations, output sizes). */
  async start(simArgs: string[]): Promise<this> {
    this.redisProcess = await startRedisProcess();
    this.admin = new Redis(this.redisProcess.url, { maxRetriesPerRequest: null });
    this.redisPid = Number(/process_id:(\d+)/.exec(await this.admin.info("server"))?.[1] ?? 0);
    const port = await getFreePort();
    this.sim = track(
      spawn(process.execPath, [KILN_BIN, "simulate", "--port", String(port), "--api-key", BENCH_API_KEY, ...simArgs], {
        stdio: ["ignore", "pipe", "inherit"],
      }),
    );
    await new Promise((resolve, reject) => {
      this.sim!.stdout!.once("data", resolve);
      this.sim!.once("exit", (code) => reject(new Error(`simulator exited (${code}) before listening`)));
    });
    this.sim.stdout!.resume();
    this.simPid = this.sim.pid ?? 0;
    this.simUrl = `http://127.0.0.1:${port}`;
    return this;
  }

  get redisUrl(): string {
    return this.redisProcess!.url;
  }

  get redis(): Redis {
    return this.admin!;
  }

  /** What `kiln worker` needs to run against this stack; `extra` overrides (poll scale, archive, ...). */
  workerEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      REDIS_URL: this.redisUrl,
      KILN_PREFIX: BENCH_PREFIX,
      TOKENHUB_API_KEY: BENCH_API_KEY,
      TOKENHUB_BASE_URL: this.simUrl,
      KILN_WEBHOOK_SECRET: this.webhookSecret,
      KILN_ALLOW_PRIVATE_URLS: "true",
      LOG_LEVEL: "info",
      ...extra,
    };
  }

  /** Calls per Redis command since the server started (INFO commandstats), and their sum. */
  async commandCalls(): Promise<{ total: number; byCommand: Record<string, number> }> {
    const byCommand: Record<string, number> = {};
    let total = 0;
    for (const match of (await this.admin!.info("commandstats")).matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) {
      byCommand[match[1]!] = Number(match[2]);
      total += Number(match[2]);
    }
    return { total, byCommand };
  }

  /**
   * Commands clients sent during `ms` (MONITOR), by name, without those Lua scripts ran
   * (commandstats counts both): the round trips. MONITOR slows Redis, so use a short window
   * apart from the measurement. Returns the counts and the simulator's status requests meanwhile.
   */
  async clientCommands(ms: number): Promise<{ byCommand: Record<string, number>; simQueries: number }> {
    const watch = await monitorRedis(this.redisUrl);
    const q0 = await this.simQueries();
    await new Promise((r) => setTimeout(r, ms));
    const simQueries = (await this.simQueries()) - q0;
    await watch.stop();
    const byCommand: Record<string, number> = {};
    for (const { client, args } of watch.commands) {
      const name = args[0]!.toLowerCase();
      if (client !== "lua" && name !== "info") byCommand[name] = (byCommand[name] ?? 0) + 1;
    }
    return { byCommand, simQueries };
  }

  /** Status requests the simulator answered so far. */
  async simQueries(): Promise<number> {
    const answer = await request(`${this.simUrl}/__simulator/stats`);
    return ((await answer.body.json()) as { queries: number }).queries;
  }

  /** Every task submitted to the simulator so far: its prompt and when. */
  async simStats(): Promise<Array<{ prompt: string; at: number }>> {
    const answer = await request(`${this.simUrl}/__simulator/stats`);
    return ((await answer.body.json()) as { submissions: Array<{ prompt: string; at: number }> }).submissions;
  }

  /** Tasks submitted to the simulator so far (cheap). */
  async simSubmissions(): Promise<number> {
    const answer = await request(`${this.simUrl}/__simulator/count`);
    return ((await answer.body.json()) as { submissions: number }).submissions;
  }

  /** Stops `process` (a worker, a baseline) with the stack, if the row has not stopped it already. */
  own<T extends { stop(): Promise<void> }>(process: T): T {
    this.owned.push(process);
    return process;
  }

  async stop(): Promise<void> {
    await Promise.all(this.owned.map((p) => p.stop()));
    this.sim?.kill("SIGTERM");
    await this.admin?.quit().catch(() => undefined);
    await this.redisProcess?.stop();
  }
}

/** Differences of command calls between two `commandCalls()` readings, largest first, without INFO itself. */
export function commandDelta(
  before: { byCommand: Record<string, number> },
  after: { byCommand: Record<string, number> },
): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, calls] of Object.entries(after.byCommand)) {
    const d = calls - (before.byCommand[name] ?? 0);
    if (d > 0 && name !== "info") delta[name] = d;
  }
  return Object.fromEntries(Object.entries(delta).sort((a, b) => b[1] - a[1]));
}

/** All the calls of a `commandCalls()` reading or of a delta. */
export const callTotal = (calls: Record<string, number>): number => Object.values(calls).reduce((a, b) => a + b, 0);

/** "evalsha 2.00, get 1.00, ..." per unit (visit, job, poll), the commands of at least 0.01 each. */
export function callsPer(calls: Record<string, number>, units: number): string {
  return Object.entries(calls)
    .filter(([, n]) => n / units >= 0.01)
    .map(([name, n]) => `${name} ${(n / units).toFixed(2)}`)
    .join(", ");
}

/**
 * `kiln worker` in a child process of its own, so its CPU and memory are its own. Its output
 * goes to a file (reading a pipe would cost this process CPU in the middle of a measurement).
 */
export class KilnWorkerProcess {
  pid = 0;
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private readonly logPath: string;

  constructor(
    private readonly env: Record<string, string>,
    scratchDir: string,
    private readonly nodeArgs: string[] = [],
    /** The `kiln` launcher to run: this checkout's, or another build's (`BENCH_COMPARE_BIN`). */
    private readonly bin = KILN_BIN,
  ) {
    this.logPath = join(scratchDir, `worker-${Date.now()}-${randomBytes(3).toString("hex")}.log`);
  }

  async start(): Promise<this> {
    const fd = openSync(this.logPath, "w");
    this.child = track(
      spawn(process.execPath, [...this.nodeArgs, this.bin, "worker"], {
        env: { PATH: process.env.PATH ?? "", ...this.env },
        stdio: ["ignore", fd, fd],
      }),
    );
    closeSync(fd);
    this.pid = this.child.pid ?? 0;
    this.exited = new Promise((resolve) => this.child!.once("exit", () => resolve()));
    const deadline = Date.now() + 30_000;
    while (!this.output().includes("kiln workers started")) {
      if (this.child.exitCode !== null) throw new Error(`kiln worker exited early:\n${this.output().slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`kiln worker did not start:\n${this.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return this;
  }

  output(): string {
    try {
      return readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }

  /** SIGTERM (a graceful close, which also writes a --cpu-prof profile) and the exit. */
  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill("SIGTERM");
    await this.exited;
  }
}

export type BaselineMode = "repoll" | "repollStatus" | "noop" | "naive" | "pipeline" | "pipelineS3";

/** What a baseline child reports: its worker is ready, a running count, or the target reached. */
export interface BaselineReport {
  readyAt: number;
  count: number;
  countAt: number;
  doneAt?: number;
}

/** One of the bare-BullMQ baselines (`bench/baselines/bare-worker.ts`) in a child process. */
export class BaselineProcess {
  pid = 0;
  readonly report: BaselineReport = { readyAt: 0, count: 0, countAt: 0 };
  private child?: ChildProcess;
  private exited?: Promise<void>;

  constructor(
    private readonly mode: BaselineMode,
    private readonly config: Record<string, unknown>,
    /** Node's own options, e.g. `--cpu-prof`. */
    private readonly nodeArgs: string[] = [],
  ) {}

  async start(): Promise<this> {
    this.child = track(
      spawn(process.execPath, [...this.nodeArgs, BASELINE_BIN, this.mode, JSON.stringify(this.config)], {
        stdio: ["ignore", "pipe", "inherit"],
      }),
    );
    this.pid = this.child.pid ?? 0;
    this.exited = new Promise((resolve) => this.child!.once("exit", () => resolve()));
    let pending = "";
    this.child.stdout!.on("data", (chunk: Buffer) => {
      const lines = (pending + chunk.toString("utf8")).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) Object.assign(this.report, JSON.parse(line) as Partial<BaselineReport>);
    });
    await this.until(() => this.report.readyAt > 0, 30_000, "baseline worker ready");
    return this;
  }

  /** Resolves when `done()` holds, checked every 50 ms; fails after `timeoutMs`. */
  async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.child?.exitCode !== null) throw new Error(`baseline ${this.mode} exited before: ${what}`);
      if (Date.now() > deadline) throw new Error(`baseline ${this.mode}: ${what} not reached in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill("SIGTERM");
    await this.exited;
  }
}

/** Polls `done` every `everyMs` until it holds; fails after `timeoutMs` naming `what`. */
export async function waitUntil(done: () => Promise<boolean> | boolean, timeoutMs: number, what: string, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
