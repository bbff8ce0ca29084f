import { randomUUID } from "node:crypto";
import { chatAnswer } from "./chat-answers.js";
import type { FilePlan, SimTask, TaskBook } from "./task-book.js";
import type { RouteContext, SimAnswer } from "./sim-route.js";
import { durationDirective, queryAnswerStyle, unreadableQueryAnswer } from "./simulator-options.js";

/** The gateway's models (the gateway document's model examples, section 7) by answer family. */
const FAMILIES: Record<string, string> = {
  ...Object.fromEntries(
    [
      "qwen3.6-plus",
      "qwen3.6-flash",
      "qwen3-max",
      "qwen3-coder-next",
      "qwen3-coder-plus",
      "MiniMax-M2.7",
      "MiniMax-M2.7-highspeed",
      "glm-5.1",
      "glm-5v-turbo",
      "kimi-k2.6",
      "deepseek-v4-pro",
      "deepseek-v4-flash",
    ].map((m) => [m, "chat"]),
  ),
  "qwen-image-2.0": "qwen-image",
  "qwen-image-2.0-pro": "qwen-image",
  "wan2.7-image-pro": "qwen-image",
  "image-01": "minimax-image",
  "glm-image": "glm-image",
  "wan2.7-i2v": "wan-video",
  "wan2.7-r2v": "wan-video",
  "wan2.7-t2v": "wan-video",
  "MiniMax-Hailuo-2.3": "minimax-video",
  "MiniMax-Hailuo-2.3-Fast": "minimax-video",
  "cogvideox-3": "cogvideo",
  "qwen3-tts-flash": "qwen-tts",
  "speech-2.8-hd": "minimax-tts",
};

/** OpenAI-style error body, as the gateway answers auth and request errors. */
export function gatewayError(status: number, code: string, message: string, headers?: Record<string, string>): SimAnswer {
  return { status, body: { error: { message, type: code, code } }, headers };
}

/** Routes `/gateway/v1/...`. Undefined when the path is not the gateway's. */
export function gatewayRoute(method: string, path: string, body: Record<string, unknown>, ctx: RouteContext): SimAnswer | undefined {
  const query = /^\/gateway\/v1\/(videos|images)\/generations\/([^/]+)$/.exec(path);
  if (method === "GET" && query) return queryTask(decodeURIComponent(query[2]!), query[1] as "videos" | "images", ctx);
  if (method !== "POST" || path !== "/gateway/v1/chat/completions") return undefined;
  const model = typeof body.model === "string" ? body.model : "";
  const family = FAMILIES[model];
  if (!family) return gatewayError(404, "model_not_found", `model ${model} does not exist`);
  const prompt = promptOf(body);
  if (prompt === undefined) return gatewayError(400, "invalid_request_error", "messages[].content is required");
  if (family === "chat")
    return chatAnswer("gateway", model, body, ctx) ?? gatewayError(400, "invalid_request_error", "the last message must be the user's");
  return submit(model, family, prompt, body, ctx);
}

function promptOf(body: Record<string, unknown>): string | undefined {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<{ content?: unknown }>) : [];
  const content = messages.at(-1)?.content;
  return typeof content === "string" && content ? content : undefined;
}

function submit(model: string, family: string, prompt: string, body: Record<string, unknown>, ctx: RouteContext): SimAnswer {
  const { image, video, preview } = ctx.options.outputBytes;
  const sync = !family.endsWith("video") && !(family === "glm-image" && body.async === true);
  const files: FilePlan[] = family.endsWith("tts")
    ? [
        {
          format: family === "qwen-tts" || (body.audio_setting as { format?: string } | undefined)?.format === "wav" ? "wav" : "mp3",
          size: Math.round(image / 2),
        },
      ]
    : family === "cogvideo"
      ? [
          { format: "mp4", size: video, role: "video" },
          { format: "png", size: preview, role: "cover" },
        ]
      : family.endsWith("video")
        ? [{ format: "mp4", size: video }]
        : Array.from({ length: typeof body.n === "number" ? body.n : 1 }, () => ({ format: "png" as const, size: image }));
  const id =
    family === "wan-video" || family === "glm-image"
      ? randomUUID()
      : family === "minimax-video"
        ? `minimax-${randomUUID()}`
        : family === "cogvideo"
          ? `cogvideo-${randomUUID()}`
          : undefined;
  const durationMs = sync ? 0 : (durationDirective(prompt) ?? ctx.options.durationsMs[family === "glm-image" ? "image" : "video"]);
  const task = ctx.book.create({ provider: "gateway", model, prompt, durationMs, files, id }, ctx.options, ctx.random);
  return { status: 200, body: submitAnswer(family, task, body, ctx) };
}

/** Each family's submit answer, as the gateway document's model examples (section 7) show it. */
function submitAnswer(family: string, task: SimTask, body: Record<string, unknown>, ctx: RouteContext): unknown {
  const urls = task.files.map((f) => ctx.book.signedUrl(ctx.base, task, f));
  const requestId = randomUUID();
  switch (family) {
    case "qwen-image":
      return {
        output: { choices: [{ finish_reason: "stop", message: { role: "assistant", content: urls.map((image) => ({ image })) } }] },
        usage: { image_count: urls.length },
        request_id: requestId,
      };
    case "minimax-image":
      return body.response_format === "base64"
        ? { data: { image_base64: task.files.map((f) => ctx.book.contentOf(task.id, f.index)!.toString("base64")) } }
        : { data: { image_url: urls } };
    case "glm-image":
      return body.async === true
        ? { id: task.id }
        : { created: Math.floor(task.createdAt / 1000), data: urls.map((url) => ({ url, revised_prompt: task.prompt })) };
    case "qwen-tts":
      return {
        status_code: 200,
        request_id: requestId,
        output: { audio: { url: urls[0] }, finish_reason: "stop" },
        usage: { characters: task.prompt.length },
      };
    case "minimax-tts": {
      const audio = ctx.book.contentOf(task.id, 0)!;
      return {
        trace_id: requestId,
        data: { status: 2, audio: audio.toString("hex") },
        extra_info: {
          audio_length: 3200,
          audio_sample_rate: 32000,
          audio_size: audio.length,
          audio_bitrate: 128000,
          usage_characters: task.prompt.length,
        },
        base_resp: { status_code: 0, status_msg: "success" },
        usage: { characters: task.prompt.length },
      };
    }
    case "wan-video":
      return { output: { task_id: task.id, task_status: "PENDING" }, request_id: requestId, task_id: task.id };
    case "minimax-video":
      return { task_id: task.id };
    default:
      return { id: task.id, task_id: task.id };
  }
}

/**
 * `GET /v1/{videos,images}/generations/{task_id}`: each model answers in its own structure
 * (the document's task query examples, 7.6), or in the one structure those examples show, or unreadably, as `queryAnswers` says per model.
 */
function queryTask(id: string, kind: "videos" | "images", ctx: RouteContext): SimAnswer {
  const task = ctx.book.tasks.get(id);
  const family = task ? FAMILIES[task.model] : undefined;
  if (!task || task.provider !== "gateway" || (kind === "images") !== (family === "glm-image"))
    return gatewayError(404, "task_not_found", `task ${id} does not exist`);
  ctx.book.queried(task);
  const { status } = ctx.book.statusOf(task);
  const urls = task.files.map((f) => ctx.book.signedUrl(ctx.base, task, f));
  const style = queryAnswerStyle(ctx.options, task.model);
  if (style === "unreadable") return { status: 200, body: unreadableQueryAnswer(randomUUID()) };
  if (style === "native" && family === "minimax-video") return { status: 200, body: minimaxQuery(task, status, urls) };
  if (style === "native" && family === "cogvideo") return { status: 200, body: cogQuery(task, status, urls) };
  return { status: 200, body: documentedQuery(task, family, status, urls) };
}

type SimStatus = ReturnType<TaskBook["statusOf"]>["status"];
const REASON = "内容安全审核未通过 (content moderation)";

function minimaxQuery(task: SimTask, status: SimStatus, urls: string[]): unknown {
  const word = { queued: "Queueing", in_progress: "Processing", completed: "Success", failed: "Fail" }[status];
  return {
    task_id: task.id,
    status: word,
    ...(status === "completed" ? { file_id: `file-${task.id}`, file: { download_url: urls[0] } } : {}),
    ...(status === "failed" ? { fail_reason: REASON } : {}),
    base_resp: { status_code: 0, status_msg: "success" },
  };
}

function cogQuery(task: SimTask, status: SimStatus, urls: string[]): unknown {
  const word = { queued: "PROCESSING", in_progress: "PROCESSING", completed: "SUCCESS", failed: "FAIL" }[status];
  return {
    id: task.id,
    model: task.model,
    request_id: randomUUID(),
    task_status: word,
    ...(status === "completed" ? { video_result: [{ url: urls[0], cover_image_url: urls[1] }] } : {}),
    ...(status === "failed" ? { error: { code: "1301", message: REASON } } : {}),
  };
}

/** The task query examples' structure (gateway document, 7.6): images as `output.results[]`, anything else as the one `output.video_url`. */
function documentedQuery(task: SimTask, family: string | undefined, status: SimStatus, urls: string[]): unknown {
  const word = { queued: "PENDING", in_progress: "RUNNING", completed: "SUCCEEDED", failed: "FAILED" }[status];
  const result = family === "glm-image" ? { results: urls.map((url) => ({ url, orig_prompt: task.prompt })) } : { video_url: urls[0] };
  return {
    output: {
      task_id: task.id,
      task_status: word,
      ...(status === "completed" ? result : {}),
      ...(status === "failed" ? { code: "DataInspectionFailed", message: REASON } : {}),
    },
    request_id: randomUUID(),
  };
}
