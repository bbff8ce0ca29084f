import { createHash, createHmac, randomInt } from "node:crypto";
import { fakeMedia, MEDIA_CONTENT_TYPES, streamedMp4, type MediaFormat, type StreamedMedia } from "./fake-media.js";
import { DIRECTIVES, type SimulatorOptions } from "./simulator-options.js";

/** Status queries whose time is kept, for tests that check a rate (in-process only; not in the stats endpoint). */
const QUERY_TIMES_KEPT = 10_000;

/** One file a task will produce: its format, approximate size and what it is to the caller. */
export interface FilePlan {
  format: MediaFormat;
  size: number;
  role?: "model" | "preview" | "video" | "cover";
  /** The 3D answer's `type` (obj, glb). */
  modelType?: string;
}

/** One file a task produced, served at `/files/<taskId>/<index>.<format>`. */
export interface SimFile extends FilePlan {
  index: number;
  bytes: number;
  sha256: string;
}

/** A simulated provider task. */
export interface SimTask {
  id: string;
  provider: string;
  model: string;
  prompt: string;
  createdAt: number;
  doneAt: number;
  fails: boolean;
  urlTtlMs: number;
  files: SimFile[];
  /** When the caller first asked for this task's status. */
  firstQueriedAt?: number;
  /** Set once a query has told the caller the task ended: the task is no longer in flight. */
  closedAt?: number;
}

/** The simulator's memory: tasks, their files, and what was asked of it. */
export class TaskBook {
  readonly tasks = new Map<string, SimTask>();
  readonly submissions: Array<{ taskId: string; provider: string; model: string; prompt: string; at: number; answeredAt?: number }> = [];
  private readonly content = new Map<string, Buffer | StreamedMedia>();
  counters = { queries: 0, downloads: 0, rejected: 0, rateLimited: 0, broken: 0, open: 0, maxOpen: 0 };
  /** Per model: tasks in flight now and the most at once. */
  readonly openByModel = new Map<string, { open: number; maxOpen: number }>();

  /** Records a submission and plans its outputs. `durationMs` 0 is a synchronous answer. */
  create(
    spec: { provider: string; model: string; prompt: string; durationMs: number; files: FilePlan[]; id?: string },
    options: SimulatorOptions,
    random: () => number,
  ): SimTask {
    const now = Date.now();
    // TokenHub shows 19-digit numeric ids, too big for a double; other providers pass their own
    const id = spec.id ?? `14${String(now).slice(-10)}${String(randomInt(0, 10_000_000)).padStart(7, "0")}`;
    const fails = spec.prompt.includes(DIRECTIVES.fail) || random() < options.failureRate;
    const urlTtlMs = spec.prompt.includes(DIRECTIVES.expire) ? 0 : options.urlTtlMs;
    const task: SimTask = {
      id,
      provider: spec.provider,
      model: spec.model,
      prompt: spec.prompt,
      createdAt: now,
      doneAt: now + spec.durationMs,
      fails,
      urlTtlMs,
      files: [],
    };
    task.files = spec.files.map((plan, index) => this.makeFile(task.id, index, plan));
    this.tasks.set(id, task);
    this.submissions.push({ taskId: id, provider: spec.provider, model: spec.model, prompt: spec.prompt, at: now });
    // a task done at once never counts as in flight: its first query must not close it again
    if (spec.durationMs > 0) this.open(spec.model);
    else task.closedAt = now;
    return task;
  }

  /** queued for the first fifth of the duration, then in_progress, then completed or failed. */
  statusOf(task: SimTask, now = Date.now()): { status: "queued" | "in_progress" | "completed" | "failed"; progress: number } {
    const span = Math.max(1, task.doneAt - task.createdAt);
    const progress = Math.min(100, Math.floor(((now - task.createdAt) / span) * 100));
    if (now >= task.doneAt) return { status: task.fails ? "failed" : "completed", progress: 100 };
    return { status: progress < 20 ? "queued" : "in_progress", progress };
  }

  /** When the last status queries came (ms since the epoch), up to `QUERY_TIMES_KEPT`, oldest first. */
  readonly queryTimes: number[] = [];

  /** A query is answering `task`'s status: a terminal answer closes it (it leaves the caller's in-flight count). */
  queried(task: SimTask): void {
    this.counters.queries++;
    this.queryTimes.push(Date.now());
    if (this.queryTimes.length > QUERY_TIMES_KEPT) this.queryTimes.shift();
    task.firstQueriedAt ??= Date.now();
    if (task.closedAt === undefined && Date.now() >= task.doneAt) {
      task.closedAt = Date.now();
      this.counters.open--;
      this.openByModel.get(task.model)!.open--;
    }
  }

  /** A file's bytes when they are held (every file but a large video). */
  contentOf(taskId: string, index: number): Buffer | undefined {
    const content = this.content.get(`${taskId}/${index}`);
    return Buffer.isBuffer(content) ? content : undefined;
  }

  /** A file's bytes to serve: held whole, or generated again for each download. */
  sourceOf(taskId: string, index: number): Buffer | StreamedMedia | undefined {
    return this.content.get(`${taskId}/${index}`);
  }

  /** A COS-style signed URL (`q-sign-time=<start>;<end>`) that stops working at the task's expiry. */
  signedUrl(base: string, task: SimTask, file: SimFile): string {
    const start = Math.floor(task.doneAt / 1000);
    const end = Math.ceil((task.doneAt + task.urlTtlMs) / 1000);
    const path = `/files/${task.id}/${file.index}.${file.format}`;
    const signature = createHmac("sha1", "kiln-simulator").update(`${path}\n${start};${end}`).digest("hex");
    const query = [
      `q-sign-algorithm=sha1`,
      `q-ak=AKIDsimulator`,
      `q-sign-time=${start};${end}`,
      `q-key-time=${start};${end}`,
      `q-header-list=`,
      `q-url-param-list=`,
      `q-signature=${signature}`,
    ];
    return `${base}${path}?${query.join("&")}`;
  }

  isExpired(task: SimTask, now = Date.now()): boolean {
    return now >= task.doneAt + task.urlTtlMs;
  }

  private open(model: string): void {
    this.counters.open++;
    this.counters.maxOpen = Math.max(this.counters.maxOpen, this.counters.open);
    const perModel = this.openByModel.get(model) ?? { open: 0, maxOpen: 0 };
    perModel.open++;
    perModel.maxOpen = Math.max(perModel.maxOpen, perModel.open);
    this.openByModel.set(model, perModel);
  }

  private makeFile(taskId: string, index: number, plan: FilePlan): SimFile {
    const seed = `${taskId}/${index}`;
    if (plan.format === "mp4" && plan.size > STREAM_FROM_BYTES) {
      const streamed = streamedMp4(seed, plan.size);
      this.content.set(seed, streamed);
      return lazySha256({ ...plan, index, bytes: streamed.bytes }, () => {
        const hash = createHash("sha256");
        for (const chunk of streamed.chunks()) hash.update(chunk);
        return hash.digest("hex");
      });
    }
    const bytes = fakeMedia(plan.format, seed, plan.size);
    this.content.set(seed, bytes);
    return { ...plan, index, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
  }
}

/** Videos above this are never held: a 1 GiB output costs the simulator a megabyte at a time. */
const STREAM_FROM_BYTES = 8 * 1024 * 1024;

/** `sha256` computed on first read: hashing a streamed gigabyte is only paid by whoever asks. */
function lazySha256(file: Omit<SimFile, "sha256">, compute: () => string): SimFile {
  let digest: string | undefined;
  return Object.defineProperty(file, "sha256", { enumerable: true, get: () => (digest ??= compute()) }) as SimFile;
}

export { MEDIA_CONTENT_TYPES };
