import { createHash, createHmac, randomInt } from "node:crypto";
import { fakeMedia, MEDIA_CONTENT_TYPES, type MediaFormat } from "./fake-media.js";
import { DIRECTIVES, type SimulatorOptions } from "./simulator-options.js";

export type Family = "image" | "video" | "3d";

/** One file a task produced, served at `/files/<taskId>/<index>.<format>`. */
export interface SimFile {
  index: number;
  format: MediaFormat;
  bytes: number;
  sha256: string;
  /** What the 3D answer calls it: `obj`/`glb` model or its preview image. */
  role?: "model" | "preview";
  modelType?: string;
}

/** A simulated provider task. */
export interface SimTask {
  id: string;
  model: string;
  family: Family;
  prompt: string;
  createdAt: number;
  doneAt: number;
  fails: boolean;
  urlTtlMs: number;
  files: SimFile[];
}

/** The simulator's memory: tasks, their files, and what was asked of it. */
export class TaskBook {
  readonly tasks = new Map<string, SimTask>();
  readonly submissions: Array<{ taskId: string; model: string; prompt: string; at: number }> = [];
  private readonly content = new Map<string, Buffer>();
  counters = { queries: 0, downloads: 0, rejected: 0 };

  create(model: string, family: Family, prompt: string, options: SimulatorOptions, random: () => number): SimTask {
    const now = Date.now();
    // ids as TokenHub shows them: 19-digit numbers, too big for a double
    const id = `14${String(now).slice(-10)}${String(randomInt(0, 10_000_000)).padStart(7, "0")}`;
    const fails = prompt.includes(DIRECTIVES.fail) || random() < options.failureRate;
    const urlTtlMs = prompt.includes(DIRECTIVES.expire) ? 0 : options.urlTtlMs;
    const task: SimTask = { id, model, family, prompt, createdAt: now, doneAt: now + options.durationsMs[family], fails, urlTtlMs, files: [] };
    task.files = this.makeFiles(task, options);
    this.tasks.set(id, task);
    this.submissions.push({ taskId: id, model, prompt, at: now });
    return task;
  }

  /** queued for the first fifth of the duration, then in_progress, then completed or failed. */
  statusOf(task: SimTask, now = Date.now()): { status: "queued" | "in_progress" | "completed" | "failed"; progress: number } {
    const span = Math.max(1, task.doneAt - task.createdAt);
    const progress = Math.min(100, Math.floor(((now - task.createdAt) / span) * 100));
    if (now >= task.doneAt) return { status: task.fails ? "failed" : "completed", progress: 100 };
    return { status: progress < 20 ? "queued" : "in_progress", progress };
  }

  contentOf(taskId: string, index: number): Buffer | undefined {
    return this.content.get(`${taskId}/${index}`);
  }

  /** A COS-style signed URL (`q-sign-time=<start>;<end>`) that stops working at the task's expiry. */
  signedUrl(base: string, task: SimTask, file: SimFile): string {
    const start = Math.floor(task.doneAt / 1000);
    const end = Math.ceil((task.doneAt + task.urlTtlMs) / 1000);
    const path = `/files/${task.id}/${file.index}.${file.format}`;
    const signature = createHmac("sha1", "kiln-simulator").update(`${path}\n${start};${end}`).digest("hex");
    return `${base}${path}?q-sign-algorithm=sha1&q-ak=AKIDsimulator&q-sign-time=${start};${end}&q-key-time=${start};${end}&q-header-list=&q-url-param-list=&q-signature=${signature}`;
  }

  isExpired(task: SimTask, now = Date.now()): boolean {
    return now >= task.doneAt + task.urlTtlMs;
  }

  private makeFiles(task: SimTask, options: SimulatorOptions): SimFile[] {
    const plan: Array<Omit<SimFile, "index" | "bytes" | "sha256"> & { size: number }> =
      task.family === "image"
        ? [{ format: "png", size: options.outputBytes.image }]
        : task.family === "video"
          ? [{ format: "mp4", size: options.outputBytes.video }]
          : [
              { format: "obj", size: options.outputBytes.model, role: "model", modelType: "obj" },
              { format: "png", size: options.outputBytes.preview, role: "preview", modelType: "obj" },
              { format: "glb", size: options.outputBytes.model, role: "model", modelType: "glb" },
              { format: "png", size: options.outputBytes.preview, role: "preview", modelType: "glb" },
            ];
    return plan.map(({ size, ...file }, index) => {
      const bytes = fakeMedia(file.format, `${task.id}/${index}`, size);
      this.content.set(`${task.id}/${index}`, bytes);
      return { ...file, index, bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
    });
  }
}

export { MEDIA_CONTENT_TYPES };
