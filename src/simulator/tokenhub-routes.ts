import type { SimulatorOptions } from "./simulator-options.js";
import type { Family, SimTask, TaskBook } from "./task-book.js";

/** An HTTP answer the simulator sends. */
export interface SimAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** TokenHub models by lower-case id, with the endpoint family each is served on (seed 003). */
const MODELS: Record<string, Family | "image-lite"> = {
  "hy-image-v3.0": "image",
  "hy-image-lite": "image-lite",
  "hy-video-1.5": "video",
  "yt-video-2.0": "video",
  "yt-video-fx": "video",
  "yt-video-humanactor": "video",
  "hy-3d-3.0": "3d",
  "hy-3d-3.1": "3d",
  "hy-3d-express": "3d",
};

const OBJECT_NAMES: Record<Family, string> = { image: "image_job", video: "video", "3d": "3d_job" };

/** TokenHub's error body: OpenAI-compatible, `type` and `code` from the guide's table. */
export function tokenHubError(status: number, code: string, message: string, headers?: Record<string, string>): SimAnswer {
  return { status, body: { error: { message, type: code, code } }, headers };
}

/** Routes `POST /v1/api/<family>/<action>` as TokenHub does. Undefined when the path is not TokenHub's. */
export function tokenHubRoute(path: string, body: Record<string, unknown>, book: TaskBook, options: SimulatorOptions, random: () => number, base: string): SimAnswer | undefined {
  const match = /^\/v1\/api\/(image|video|3d)\/(submit|query|lite)$/.exec(path);
  if (!match) return undefined;
  const [, family, action] = match as unknown as [string, Family, "submit" | "query" | "lite"];
  const model = typeof body.model === "string" ? body.model.toLowerCase() : "";
  const served = MODELS[model];
  if (!served) return tokenHubError(403, "model_not_available", `模型不存在或未开通: ${String(body.model)}`);
  const expected = action === "lite" ? "image-lite" : family;
  if (served !== expected || (action === "lite" && family !== "image")) return tokenHubError(400, "invalid_request_error", `model ${model} is not served on ${path}`);
  if (action === "query") return query(body, family, book, base);
  return submit(model, family, action === "lite", body, book, options, random, base);
}

function submit(model: string, family: Family, sync: boolean, body: Record<string, unknown>, book: TaskBook, options: SimulatorOptions, random: () => number, base: string): SimAnswer {
  const prompt = typeof body.prompt === "string" ? body.prompt : "";
  const needsPrompt = model.startsWith("hy-image") || model.startsWith("hy-3d");
  if (needsPrompt && !prompt && !body.image && !body.images) return tokenHubError(400, "invalid_request_error", "prompt is required");
  if (model === "yt-video-2.0" && !body.image) return tokenHubError(400, "invalid_request_error", "image is required");
  if (sync) {
    const task = book.create(model, family, prompt, { ...options, durationsMs: { ...options.durationsMs, image: 0 } }, random);
    const requestId = requestIdOf(random);
    return { status: 200, body: { created: Math.floor(task.createdAt / 1000), request_id: requestId, data: task.files.map((f) => ({ url: book.signedUrl(base, task, f) })) } };
  }
  const task = book.create(model, family, prompt, options, random);
  return { status: 200, body: { id: task.id, request_id: requestIdOf(random), object: OBJECT_NAMES[family], created_at: Math.floor(task.createdAt / 1000), status: "queued" } };
}

function query(body: Record<string, unknown>, family: Family, book: TaskBook, base: string): SimAnswer {
  const task = typeof body.id === "string" ? book.tasks.get(body.id) : undefined;
  if (!task || task.family !== family) return tokenHubError(400, "invalid_request_error", `task ${String(body.id)} not found`);
  book.counters.queries++;
  const { status, progress } = book.statusOf(task);
  const answer: Record<string, unknown> = { request_id: requestIdOf(Math.random), object: OBJECT_NAMES[family], created_at: Math.floor(task.createdAt / 1000), status };
  if (family === "video") answer.progress = progress;
  if (status === "failed") {
    answer.completed_at = Math.floor(task.doneAt / 1000);
    answer.error = { code: "content_policy_violation", message: "生成内容未通过安全审核 (content policy violation)" };
  }
  if (status === "completed") {
    answer.completed_at = Math.floor(task.doneAt / 1000);
    answer.data = dataOf(task, book, base);
  }
  return { status: 200, body: answer };
}

/** Each family's `data` shape as the guide shows it: images a list, video one object, 3D models with previews. */
function dataOf(task: SimTask, book: TaskBook, base: string): unknown {
  const urls = task.files.map((f) => book.signedUrl(base, task, f));
  if (task.family === "image") return urls.map((url) => ({ url, revised_prompt: task.prompt }));
  if (task.family === "video") return { url: urls[0] };
  const models = task.files.filter((f) => f.role === "model");
  return models.map((m) => ({ type: m.modelType, url: urls[m.index], preview_image_url: urls[m.index + 1] }));
}

function requestIdOf(random: () => number): string {
  return Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join("");
}
