import { z } from "zod";
import type { ModelSpec } from "../model-spec.js";
import type { ModelKind } from "../model-kind.js";
import { POLL_POLICIES } from "../poll-policy.js";
import { requestBody, requireOneOf } from "../input-schemas.js";
import { chatMessages, noStreaming } from "../chat/chat-completion.js";

/**
 * The unified multi-vendor gateway's models, as its document's model examples list them. Every
 * request is the document's unified body (`messages[].content` is the prompt, plus `images`,
 * `videos`, `voices`, `media_roles`, `duration`, `resolution`, `size`, `n`...) posted to one
 * submit path. `endpoint` names the answer family, which decides how the answer and the task
 * query are read.
 */
export type GatewayFamily =
  | "chat"
  | "qwen-image"
  | "minimax-image"
  | "glm-image"
  | "qwen-tts"
  | "minimax-tts"
  | "wan-video"
  | "minimax-video"
  | "cogvideo"
  | "generic";

const urls = z.array(z.string().url());
const MEDIA = ["images", "videos", "file_urls", "voices"] as const;

/** The unified body's common part. */
const base = { messages: chatMessages, stream: noStreaming };

/** Text models take no media, except the multimodal ones (the gateway document's table of where the common fields apply). */
function textOnly(extra: z.ZodRawShape = {}) {
  return requestBody({ ...base, ...extra }, { snakeCase: true }).superRefine((body, ctx) => {
    for (const field of MEDIA)
      if (body[field] !== undefined)
        ctx.addIssue({
          code: "custom",
          path: [field],
          message: "not supported by this text model (only glm-5v-turbo and kimi-k2.6 take media)",
        });
  });
}

const refused = (why: string) => z.undefined({ message: why }).optional();

const multimodal = requestBody(
  { ...base, images: urls.optional(), videos: urls.optional(), file_urls: urls.optional() },
  { snakeCase: true },
);
const minimaxText = textOnly({
  enable_thinking: refused("MiniMax-M2.7 does not support enable_thinking"),
  enable_search: refused("MiniMax-M2.7 does not support enable_search"),
});

const qwenImage = requestBody(
  {
    ...base,
    images: urls.optional(),
    size: z
      .string()
      .regex(/^\d+\*\d+$/, { message: "format W*H, e.g. 1664*928" })
      .optional(),
    n: z.number().int().min(1).optional(),
    watermark: z.boolean().optional(),
  },
  { snakeCase: true },
);
const minimaxImage = requestBody(
  { ...base, images: urls.optional(), n: z.number().int().min(1).optional(), response_format: z.enum(["url", "base64"]).optional() },
  { snakeCase: true },
);
const glmImage = requestBody(
  {
    ...base,
    images: refused("glm-image does not take reference images"),
    size: z.string().optional(),
    style: z.string().optional(),
    async: z.boolean().optional(),
  },
  { snakeCase: true },
);

const video = {
  duration: z.number().int().positive().optional(),
  resolution: z.string().optional(),
  negative_prompt: z.string().optional(),
  media_roles: z.record(z.string(), z.array(z.string())).optional(),
};
const wanI2v = requestBody(
  { ...base, ...video, images: urls.optional(), videos: urls.optional(), voices: urls.optional() },
  { snakeCase: true },
).superRefine(requireOneOf(["images", "videos"]));
const wanR2v = requestBody(
  { ...base, ...video, images: urls.optional(), videos: urls.optional(), voices: urls.optional() },
  { snakeCase: true },
).superRefine(requireOneOf(["images", "videos", "voices"]));
const wanT2v = requestBody(
  { ...base, ...video, images: refused("wan2.7-t2v is text-to-video; use wan2.7-i2v for images"), voices: urls.optional() },
  { snakeCase: true },
);
const hailuo = requestBody(
  {
    ...base,
    images: urls.max(2, { message: "0 to 2 images: first frame, then last frame" }).optional(),
    duration: z.union([z.literal(5), z.literal(6)], { message: "5 or 6 seconds" }).optional(),
    resolution: z.string().optional(),
  },
  { snakeCase: true },
);
const cogvideo = requestBody(
  {
    ...base,
    images: urls.min(1).optional(),
    fps: z.number().int().positive().optional(),
    duration: z.number().int().positive().optional(),
  },
  { snakeCase: true },
);

const qwenTts = requestBody(
  { ...base, voice: z.string().optional(), language_type: z.enum(["Chinese", "English", "Auto"]).optional() },
  { snakeCase: true },
);
const minimaxTts = requestBody(
  {
    ...base,
    voice_id: z.string().optional(),
    voice_setting: z.record(z.string(), z.unknown()).optional(),
    audio_setting: z.looseObject({ format: z.enum(["mp3", "pcm", "flac", "wav"]).optional() }).optional(),
  },
  { snakeCase: true },
);

function model(id: string, kind: ModelKind, family: GatewayFamily, input: ModelSpec["input"], defaults?: ModelSpec["defaults"]): ModelSpec {
  const async = family === "wan-video" || family === "minimax-video" || family === "cogvideo";
  return { provider: "gateway", id, kind, mode: async ? "async" : "sync", endpoint: family, input, poll: POLL_POLICIES[kind], defaults };
}

/** Defaults the gateway's document states, per model section (默认...). */
const STREAM_OFF = { stream: false };

export const GATEWAY_MODELS: readonly ModelSpec[] = [
  ...["qwen3.6-plus", "qwen3.6-flash", "qwen3-max", "qwen3-coder-next", "qwen3-coder-plus"].map((id) =>
    model(id, "text", "chat", textOnly()),
  ),
  model("MiniMax-M2.7", "text", "chat", minimaxText, STREAM_OFF),
  model("MiniMax-M2.7-highspeed", "text", "chat", minimaxText, STREAM_OFF),
  model("glm-5.1", "text", "chat", textOnly()),
  model("glm-5v-turbo", "text", "chat", multimodal, STREAM_OFF),
  model("kimi-k2.6", "text", "chat", multimodal),
  model("deepseek-v4-pro", "text", "chat", textOnly(), STREAM_OFF),
  model("deepseek-v4-flash", "text", "chat", textOnly(), STREAM_OFF),
  ...["qwen-image-2.0", "qwen-image-2.0-pro", "wan2.7-image-pro"].map((id) =>
    model(id, "image", "qwen-image", qwenImage, { n: 1, watermark: false }),
  ),
  model("image-01", "image", "minimax-image", minimaxImage, { n: 1 }),
  model("glm-image", "image", "glm-image", glmImage),
  model("wan2.7-i2v", "video", "wan-video", wanI2v),
  model("wan2.7-r2v", "video", "wan-video", wanR2v),
  model("wan2.7-t2v", "video", "wan-video", wanT2v),
  model("MiniMax-Hailuo-2.3", "video", "minimax-video", hailuo),
  model("MiniMax-Hailuo-2.3-Fast", "video", "minimax-video", hailuo),
  model("cogvideox-3", "video", "cogvideo", cogvideo),
  model("qwen3-tts-flash", "audio", "qwen-tts", qwenTts, { voice: "Cherry" }),
  model("speech-2.8-hd", "audio", "minimax-tts", minimaxTts, { voice_id: "male-qn-qingse" }),
];

/** Pass-through: a gateway model without a row is read generically (sync answer or task id). */
export const GATEWAY_PASSTHROUGH = (id: string): ModelSpec => model(id, "video", "generic", requestBody(base, { snakeCase: false }));
