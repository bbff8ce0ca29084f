import { appendFileSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { loadEnvironment, type Environment } from "../src/config/index.js";
import { GenerationClient, type GenerationStatus } from "../src/producers/generation-client.js";
import {
  getFreePort,
  startRedisProcess,
  WebhookReceiver,
  type RedisProcessHandle,
  type SimTask,
  type SimulatorOptions,
  type SimulatorStats,
} from "@kiln/dev-tools";
import { createArchiveStore } from "../src/storage/index.js";
import { startS3, type S3Handle } from "../test/support/s3-server.js";
import { TcpProxy } from "./tcp-proxy.js";

const BIN = fileURLToPath(new URL("../../bin/kiln.js", import.meta.url));
export const API_KEY = "chaos-key";

/** A `kiln worker` process, started as a user starts it, its output kept (last 200 lines). */
export class WorkerProc {
  readonly output: string[] = [];
  child!: ChildProcess;
  exited!: Promise<{ code: number | null; at: number }>;

  constructor(
    private readonly env: Record<string, string>,
    private readonly bin = BIN,
  ) {}

  async start(): Promise<this> {
    this.child = spawn(process.execPath, [...(process.env.CHAOS_NODE_ARGS?.split(" ").filter(Boolean) ?? []), this.bin, "worker"], {
      env: { PATH: process.env.PATH ?? "", ...this.env, KILN_DEBUG_WINDOW: process.env.KILN_DEBUG_WINDOW ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (process.env.KILN_DEBUG_WINDOW) this.child.stderr!.on("data", (d: Buffer) => process.stderr.write(d));
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve({ code, at: Date.now() })));
    // CHAOS_WORKER_LOG=<file>: every worker's whole output, appended there (the kept tail is only the last 200 lines)
    const logFile = process.env.CHAOS_WORKER_LOG;
    const keep = (d: Buffer) => {
      if (logFile) appendFileSync(logFile, d);
      this.output.push(...d.toString().split("\n").filter(Boolean));
      if (this.output.length > 200) this.output.splice(0, this.output.length - 200);
    };
    this.child.stdout!.on("data", keep);
    this.child.stderr!.on("data", keep);
    const deadline = Date.now() + 20_000;
    while (!this.output.some((l) => l.includes("kiln workers started"))) {
      if (this.child.exitCode !== null || Date.now() > deadline) throw new Error(`kiln worker did not start:\n${this.output.join("\n")}`);
      await sleep(25);
    }
    return this;
  }

  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM, and how long the process took to exit with which code. */
  async term(): Promise<{ code: number | null; ms: number }> {
    const sent = Date.now();
    this.child.kill("SIGTERM");
    const { code, at } = await this.exited;
    return { code, ms: at - sent };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode) return;
    await this.term();
  }

  /** Resident memory now, MiB (from /proc). */
  async rssMiB(): Promise<number> {
    const status = await readFile(`/proc/${this.child.pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  }
}

/**
 * The provider simulator in a process of its own (`kiln simulate`), as a provider is: its
 * answers never wait behind the chaos runner's own work. Read and configured over its control
 * routes.
 */
export class SimulatorProcess {
  url = "";
  private child?: ChildProcess;

  async start(options: Partial<SimulatorOptions>): Promise<string> {
    const port = await getFreePort();
    this.child = spawn(process.execPath, [BIN, "simulate", "--port", String(port), "--api-key", API_KEY], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise((resolve, reject) => {
      this.child!.stdout!.once("data", resolve);
      this.child!.once("exit", (code) => reject(new Error(`kiln simulate exited with ${code}`)));
    });
    this.url = `http://127.0.0.1:${port}`;
    await this.configure(options);
    return this.url;
  }

  async configure(patch: Partial<SimulatorOptions>): Promise<void> {
    const answer = await fetch(`${this.url}/__simulator/config`, { method: "POST", body: JSON.stringify(patch) });
    if (!answer.ok) throw new Error(`simulator config refused: ${await answer.text()}`);
  }

  async stats(): Promise<SimulatorStats> {
    return (await (await fetch(`${this.url}/__simulator/stats`)).json()) as SimulatorStats;
  }

  async submissionCount(): Promise<number> {
    return ((await (await fetch(`${this.url}/__simulator/count`)).json()) as { submissions: number }).submissions;
  }

  async task(id: string): Promise<SimTask | undefined> {
    const answer = await fetch(`${this.url}/__simulator/tasks/${encodeURIComponent(id)}`);
    return answer.ok ? ((await answer.json()) as SimTask) : undefined;
  }

  async waitForSubmissions(n: number, everyMs = 10): Promise<void> {
    while ((await this.submissionCount()) < n) await sleep(everyMs);
  }

  async stop(): Promise<void> {
    this.child?.kill("SIGTERM");
  }
}

/**
 * The infrastructure one chaos run shares: a Redis with AOF that can be killed and restarted on
 * its port, an S3 server behind a TCP proxy that can be taken down, and per case a provider
 * simulator, a webhook receiver, a key prefix, and `kiln worker` processes.
 */
export class ChaosWorld {
  static readonly BIN = BIN;
  redis!: RedisProcessHandle;
  s3!: S3Handle;
  s3Proxy!: TcpProxy;
  /** The `kiln` entry point the workers run: the built one, or a copy with a fix reverted (self-test). */
  kilnBin = BIN;
  private redisDir = "";

  /** `always` for the Redis case (nothing acknowledged may be lost), `everysec` as production runs. */
  constructor(private readonly appendfsync: "always" | "everysec" = "always") {}

  async start(): Promise<void> {
    this.redisDir = await mkdtemp(join(tmpdir(), "kiln-chaos-redis-"));
    this.redis = await startRedisProcess({ appendonly: true, appendfsync: this.appendfsync, dir: this.redisDir });
    this.s3 = await startS3();
    this.s3Proxy = new TcpProxy(Number(new URL(this.s3.endpoint).port));
    await this.s3Proxy.up();
  }

  /** SIGKILL, then a new redis-server on the same port and directory: it reloads its AOF. */
  async restartRedis(downMs: number): Promise<void> {
    await this.redis.kill();
    await sleep(downMs);
    this.redis = await startRedisProcess({ appendonly: true, appendfsync: this.appendfsync, dir: this.redisDir, port: this.redis.port });
  }

  async close(): Promise<void> {
    await this.s3Proxy.down().catch(() => undefined);
    await this.s3.stop().catch(() => undefined);
    await this.redis.stop().catch(() => undefined);
    await rm(this.redisDir, { recursive: true, force: true });
  }

  async scene(name: string, options: SceneOptions = {}): Promise<Scene> {
    const scene = new Scene(this, name);
    await scene.start(options);
    return scene;
  }
}

export interface SceneOptions {
  simulator?: Partial<SimulatorOptions>;
  /** Variables over the scene's defaults. */
  env?: Record<string, string>;
  /** Archive into this directory (the local store) instead of the world's S3 server. */
  archiveDir?: string;
}

/** One case's own simulator, receiver, prefix and workers. */
export class Scene {
  readonly simulator = new SimulatorProcess();
  receiver!: WebhookReceiver;
  client!: GenerationClient;
  env!: Environment;
  rawEnv!: Record<string, string>;
  readonly workers: WorkerProc[] = [];
  readonly prefix: string;
  readonly secret = `whsec_${randomBytes(24).toString("base64")}`;

  constructor(
    private readonly world: ChaosWorld,
    name: string,
  ) {
    this.prefix = `{chaos-${name}-${randomUUID().slice(0, 6)}}`;
  }

  async start(options: SceneOptions): Promise<void> {
    const simUrl = await this.simulator.start({
      durationsMs: { image: 1500, video: 2500, "3d": 2500 },
      outputBytes: { image: 24_000, video: 60_000, model: 30_000, preview: 6_000 },
      ...options.simulator,
    });
    this.receiver = new WebhookReceiver(this.secret);
    await this.receiver.start();
    const s3 = this.world.s3;
    this.rawEnv = {
      REDIS_URL: this.world.redis.url,
      KILN_PREFIX: this.prefix,
      TOKENHUB_API_KEY: API_KEY,
      TOKENHUB_BASE_URL: simUrl,
      WCODE_API_KEY: API_KEY,
      WCODE_BASE_URL: `${simUrl}/wcode/api/gpt/v1`,
      GATEWAY_API_KEY: API_KEY,
      GATEWAY_BASE_URL: `${simUrl}/gateway`,
      ...(options.archiveDir
        ? { ARCHIVE_DIR: options.archiveDir }
        : {
            S3_ENDPOINT: `http://127.0.0.1:${this.world.s3Proxy.port}`,
            S3_REGION: s3.region,
            S3_BUCKET: s3.bucket,
            S3_ACCESS_KEY_ID: s3.accessKeyId,
            S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
            S3_FORCE_PATH_STYLE: String(s3.forcePathStyle),
          }),
      KILN_WEBHOOK_SECRET: this.secret,
      KILN_WEBHOOK_RETRY_SCHEDULE: "0.2s,0.4s,0.8s,1.6s,3s,5s,5s,5s,5s,5s,5s,5s,5s,5s,5s,5s,5s,5s,5s,5s",
      KILN_ALLOW_PRIVATE_URLS: "true",
      KILN_POLL_SCALE: "0.05",
      LOG_LEVEL: "info",
      ...options.env,
    };
    this.env = loadEnvironment(this.rawEnv);
    this.client = new GenerationClient({ redisUrl: this.world.redis.url, prefix: this.prefix });
  }

  async startWorker(extraEnv: Record<string, string> = {}): Promise<WorkerProc> {
    const worker = await new WorkerProc({ ...this.rawEnv, ...extraEnv }, this.world.kilnBin).start();
    this.workers.push(worker);
    return worker;
  }

  /** A TokenHub request with a prompt unique to it (the simulator counts submissions by prompt). */
  request(
    model: string,
    tag: string,
  ): { provider: string; model: string; input: Record<string, unknown>; webhook: { url: string }; metadata: { prompt: string } } {
    const prompt = `chaos ${tag} ${randomUUID()}`;
    const input: Record<string, unknown> = model.startsWith("yt-video-humanactor")
      ? { prompt, audio_url: "https://example.com/a.wav", image_url: "https://example.com/p.png" }
      : { prompt };
    return { provider: "tokenhub", model, input, webhook: { url: this.receiver.url }, metadata: { prompt } };
  }

  /** Waits until `ids` are all completed or failed (or `timeoutMs` passes) and returns their statuses. */
  async settle(ids: string[], timeoutMs: number, provider = "tokenhub"): Promise<Map<string, GenerationStatus | undefined>> {
    const queue = new Queue(`generate-${provider}`, {
      connection: { url: this.world.redis.url, maxRetriesPerRequest: null },
      prefix: this.prefix,
    });
    queue.on("error", () => undefined);
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const counts = await queue.getJobCounts("completed", "failed");
        if ((counts.completed ?? 0) + (counts.failed ?? 0) >= ids.length || Date.now() > deadline) break;
        await sleep(250);
      }
    } finally {
      await queue.close();
    }
    const statuses = new Map<string, GenerationStatus | undefined>();
    for (let i = 0; i < ids.length; i += 100) {
      const page = ids.slice(i, i + 100);
      const got = await Promise.all(page.map((id) => this.client.get(id, provider)));
      page.forEach((id, j) => statuses.set(id, got[j]));
    }
    return statuses;
  }

  /** Submissions per prompt at the simulator: how many tasks each request made. */
  async submissionsByPrompt(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const s of (await this.simulator.stats()).submissions) counts.set(s.prompt, (counts.get(s.prompt) ?? 0) + 1);
    return counts;
  }

  /**
   * Checks every completed job's outputs: the result's sha256 equals the simulator's bytes of
   * that task, and the archive holds exactly those bytes. Returns the outputs checked and the
   * problems found.
   */
  async verifyArchives(statuses: Iterable<GenerationStatus | undefined>): Promise<{ outputs: number; problems: string[] }> {
    const store = createArchiveStore(this.env);
    const submissions = (await this.simulator.stats()).submissions;
    const problems: string[] = [];
    let outputs = 0;
    for (const status of statuses) {
      const result = status?.result;
      if (!result || result.status !== "completed") continue;
      // synchronous answers carry no task id: the request's unique prompt finds its task(s)
      const prompt = (result.metadata as { prompt?: string } | undefined)?.prompt;
      const ids = result.providerTaskId ? [result.providerTaskId] : submissions.filter((s) => s.prompt === prompt).map((s) => s.taskId);
      const tasks = (await Promise.all(ids.map((id) => this.simulator.task(id)))).filter((t): t is SimTask => t !== undefined);
      if (tasks.length === 0) {
        problems.push(`${status.id}: no simulator task behind it`);
        continue;
      }
      for (const output of result.outputs) {
        outputs++;
        const hashes = tasks.map((t) => t.files[output.index]?.sha256);
        const expected = hashes.find((h) => h === output.sha256) ?? hashes[0] ?? "missing";
        const hash = createHash("sha256");
        for await (const chunk of await store.get(output.key)) hash.update(chunk as Buffer);
        const stored = hash.digest("hex");
        if (output.sha256 !== expected || stored !== expected)
          problems.push(
            `${status.id} output ${output.index}: source ${expected.slice(0, 12)}, result ${output.sha256.slice(0, 12)}, stored ${stored.slice(0, 12)}`,
          );
      }
    }
    return { outputs, problems };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop().catch(() => undefined)));
    await this.client.close();
    await this.receiver.stop();
    await this.simulator.stop();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The p-th percentile (0-100) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
