import type { SimulatorOptions } from "./simulator-options.js";
import type { FilePlan, SimTask } from "./task-book.js";
import type { RouteContext, SimAnswer } from "./sim-route.js";
import { chatAnswer } from "./chat-answers.js";
import { DIRECTIVES, durationDirective, queryAnswerStyle, unreadableQueryAnswer } from "./simulator-options.js";
import { tokenHubInputProblem } from "./tokenhub-checks.js";

type Family = "image" | "video" | "3d";

/** TokenHub's generation models by lower-case id, with the endpoint family each is served on (TokenHub's guide). */
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

/** The guide's text models (`/v1/chat/completions`). */
const TEXT_MODELS = new Set([
  "hunyuan-2.0-thinking-20251109",
  "hunyuan-2.0-instruct-20251111",
  "hunyuan-role-latest",
  "deepseek-v3.2",
  "deepseek-v3.1-terminus",
  "deepseek-r1-0528",
  "deepseek-v3-0324",
  "glm-5",
  "kimi-k2.5",
  "kimi-k2-thinking-turbo",
  "kimi-k2-turbo-preview",
  "minimax-m2.5",
  "minimax-m2.7",
]);

const OBJECT_NAMES: Record<Family, string> = { image: "image_job", video: "video", "3d": "3d_job" };

/** TokenHub's error body: OpenAI-compatible, `type` and `code` from the guide's table. */
export function tokenHubError(status: number, code: string, message: string, headers?: Record<string, string>): SimAnswer {
  return { status, body: { error: { message, type: code, code } }, headers };
}

/** Routes TokenHub's paths. Undefined when the path is not TokenHub's. */
export function tokenHubRoute(path: string, body: Record<string, unknown>, ctx: RouteContext): SimAnswer | undefined {
  if (path === "/v1/chat/completions") return chat(body, ctx);
  const match = /^\/v1\/api\/(image|video|3d)\/(submit|query|lite)$/.exec(path);
  if (!match) return undefined;
  const [, family, action] = match as unknown as [string, Family, "submit" | "query" | "lite"];
  const model = typeof body.model === "string" ? body.model.toLowerCase() : "";
  const served = MODELS[model];
  if (!served) return tokenHubError(403, "model_not_available", `模型不存在或未开通: ${String(body.model)}`);
  const expected = action === "lite" ? "image-lite" : family;
  if (served !== expected || (action === "lite" && family !== "image"))
    return tokenHubError(400, "invalid_request_error", `model ${model} is not served on ${path}`);
  if (action === "query") return query(body, family, ctx);
  return submit(model, family, action === "lite", body, ctx);
}

function chat(body: Record<string, unknown>, ctx: RouteContext): SimAnswer {
  const model = typeof body.model === "string" ? body.model : "";
  if (!TEXT_MODELS.has(model)) return tokenHubError(403, "model_not_available", `模型不存在或未开通: ${model}`);
  const answer = chatAnswer("tokenhub", model, body, ctx);
  return answer ?? tokenHubError(400, "invalid_request_error", "请求参数有误: messages must end with a user message");
}

/** What each family produces: one image, one video, or an obj and a glb with a preview each. */
function plan(family: Family, options: SimulatorOptions): FilePlan[] {
  const { image, video, model, preview } = options.outputBytes;
  if (family === "image") return [{ format: "png", size: image }];
  if (family === "video") return [{ format: "mp4", size: video }];
  return [
    { format: "obj", size: model, role: "model", modelType: "obj" },
    { format: "png", size: preview, role: "preview", modelType: "obj" },
    { format: "glb", size: model, role: "model", modelType: "glb" },
    { format: "png", size: preview, role: "preview", modelType: "glb" },
  ];
}

function submit(model: string, family: Family, sync: boolean, body: Record<string, unknown>, ctx: RouteContext): SimAnswer {
  const prompt = typeof body.prompt === "string" ? body.prompt : "";
  const problem = tokenHubInputProblem(model, body);
  if (problem) return tokenHubError(400, "invalid_request_error", `请求参数有误: ${problem}`);
  const durationMs = sync ? 0 : (durationDirective(prompt) ?? ctx.options.durationsMs[family]);
  const task = ctx.book.create(
    { provider: "tokenhub", model, prompt, durationMs, files: plan(family, ctx.options) },
    ctx.options,
    ctx.random,
  );
  if (prompt.includes(DIRECTIVES.garbled) && ctx.book.submissions.filter((s) => s.prompt === prompt).length === 1) {
    return {
      status: 200,
      body: `{"id":"${task.id}","request_id":"${requestIdOf(ctx.random)}","obj`,
      headers: { "content-type": "application/json" },
    };
  }
  const requestId = requestIdOf(ctx.random);
  if (sync)
    return {
      status: 200,
      body: {
        created: Math.floor(task.createdAt / 1000),
        request_id: requestId,
        data: task.files.map((f) => ({ url: ctx.book.signedUrl(ctx.base, task, f) })),
      },
    };
  return {
    status: 200,
    body: {
      id: task.id,
      request_id: requestId,
      object: OBJECT_NAMES[family],
      created_at: Math.floor(task.createdAt / 1000),
      status: "queued",
    },
  };
}

function query(body: Record<string, unknown>, family: Family, ctx: RouteContext): SimAnswer {
  const task = typeof body.id === "string" ? ctx.book.tasks.get(body.id) : undefined;
  if (!task || task.provider !== "tokenhub" || MODELS[task.model] !== family)
    return tokenHubError(400, "invalid_request_error", `task ${String(body.id)} not found`);
  ctx.book.queried(task);
  // TokenHub's guide shows one query structure: `documented` is `native` here
  if (queryAnswerStyle(ctx.options, task.model) === "unreadable")
    return { status: 200, body: unreadableQueryAnswer(requestIdOf(ctx.random)) };
  const { status, progress } = ctx.book.statusOf(task);
  const answer: Record<string, unknown> = {
    request_id: requestIdOf(ctx.random),
    object: OBJECT_NAMES[family],
    created_at: Math.floor(task.createdAt / 1000),
    status,
  };
  if (family === "video") answer.progress = progress;
  if (status === "failed") {
    // with echoKey, the reason quotes the key like a billing or quota reason of a real provider would
    const echo = ctx.options.echoKey === "whole" && ctx.key ? ` for API key ${ctx.key}` : "";
    answer.error = { code: "content_policy_violation", message: `生成内容未通过安全审核 (content policy violation)${echo}` };
  }
  if (status === "completed") answer.data = dataOf(task, family, ctx);
  if (status === "failed" || status === "completed") answer.completed_at = Math.floor(task.doneAt / 1000);
  return { status: 200, body: answer };
}

/** Each family's `data` shape as the guide shows it: images a list, video one object, 3D models with previews. */
function dataOf(task: SimTask, family: Family, ctx: RouteContext): unknown {
  const urls = task.files.map((f) => ctx.book.signedUrl(ctx.base, task, f));
  if (family === "image") return urls.map((url) => ({ url, revised_prompt: task.prompt }));
  if (family === "video") return { url: urls[0] };
  const models = task.files.filter((f) => f.role === "model");
  return models.map((m) => ({ type: m.modelType, url: urls[m.index], preview_image_url: urls[m.index + 1] }));
}

function requestIdOf(random: () => number): string {
  return Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join("");
}
