import { z } from "zod";
import type { ModelSpec } from "../model-spec.js";
import { POLL_POLICIES } from "../poll-policy.js";
import { requestBody, requireOneOf } from "../input-schemas.js";
import { chatMessages, noStreaming } from "../chat/chat-completion.js";
import { hy3dExpress, hy3dPro, ytVideo20, ytVideoFx, ytVideoHumanActor } from "./tokenhub-inputs.js";

/**
 * TokenHub's generation models, as Tencent TokenHub's guide lists them. The guide shows bodies
 * in lower snake_case with a lower-case model id (`hy-image-v3.0`) while its tables name the
 * models `HY-Image-V3.0`: both spellings are accepted, the lower-case one is sent. The YT and
 * HY-3D models take their original API's parameters in lower snake_case (tokenhub-inputs.ts);
 * fields a schema does not list pass through as given. docs/providers-and-models.md says which
 * section each row follows.
 */

/** `endpoint` values: the path family under /v1/api/ used for submit and query. */
export type TokenHubEndpoint = "image" | "image-lite" | "video" | "3d" | "chat";

const prompt = z.string().trim().min(1, { message: "must not be empty" });
const imageRef = z.looseObject({ url: z.string().url() });

const imageV3 = requestBody({ prompt, images: z.array(z.string().url()).optional() }, { snakeCase: true });

/** The guide shows only `rsp_img_type: "url"`; the base64 answer's shape is undocumented, so it is refused. */
const imageLite = requestBody(
  { prompt, rsp_img_type: z.literal("url", { message: 'only "url" is supported: the guide documents no other answer shape' }).optional() },
  { snakeCase: true },
);

const hyVideo = requestBody({ prompt: prompt.optional(), image: imageRef.optional() }, { snakeCase: true }).superRefine(
  requireOneOf(["prompt", "image"]),
);
/** OpenAI Chat Completions body (the guide's text section), non-streaming. */
const chat = requestBody({ messages: chatMessages, stream: noStreaming }, { snakeCase: true });

function model(id: string, displayName: string, kind: ModelSpec["kind"], endpoint: TokenHubEndpoint, input: ModelSpec["input"]): ModelSpec {
  const sync = endpoint === "image-lite" || endpoint === "chat";
  // the guide's chat table: stream defaults to false (默认值为 false)
  const defaults = endpoint === "chat" ? { stream: false } : undefined;
  return {
    provider: "tokenhub",
    id,
    displayName,
    kind,
    mode: sync ? "sync" : "async",
    endpoint,
    input,
    poll: POLL_POLICIES[kind],
    defaults,
  };
}

export const TOKENHUB_MODELS: readonly ModelSpec[] = [
  model("hy-image-v3.0", "HY-Image-V3.0", "image", "image", imageV3),
  model("hy-image-lite", "HY-Image-Lite", "image", "image-lite", imageLite),
  model("hy-video-1.5", "HY-Video-1.5", "video", "video", hyVideo),
  model("yt-video-2.0", "YT-Video-2.0", "video", "video", ytVideo20),
  model("yt-video-fx", "YT-Video-FX", "video", "video", ytVideoFx),
  model("yt-video-humanactor", "YT-Video-HumanActor", "video", "video", ytVideoHumanActor),
  model("hy-3d-3.0", "HY-3D-3.0", "3d", "3d", hy3dPro),
  model("hy-3d-3.1", "HY-3D-3.1", "3d", "3d", hy3dPro),
  model("hy-3d-express", "HY-3D-Express", "3d", "3d", hy3dExpress),
  // text generation (POST /v1/chat/completions), the guide's model table
  ...[
    ["hunyuan-2.0-thinking-20251109", "HY 2.0 Think"],
    ["hunyuan-2.0-instruct-20251111", "HY 2.0 Instruct"],
    ["hunyuan-role-latest", "Hunyuan-role"],
    ["deepseek-v3.2", "Deepseek-v3.2"],
    ["deepseek-v3.1-terminus", "Deepseek-v3.1"],
    ["deepseek-r1-0528", "Deepseek-r1-0528"],
    ["deepseek-v3-0324", "Deepseek-v3-0324"],
    ["glm-5", "GLM-5"],
    ["kimi-k2.5", "kimi-k2.5"],
    ["kimi-k2-thinking-turbo", "kimi-k2-thinking-turbo"],
    ["kimi-k2-turbo-preview", "kimi-k2-turbo-preview"],
    ["minimax-m2.5", "MiniMax-M2.5"],
    ["minimax-m2.7", "MiniMax-M2.7"],
  ].map(([id, name]) => model(id!, name!, "text", "chat", chat)),
];

/** Pass-through rows: a model TokenHub serves that kiln has no row for is sent as chat. */
export const TOKENHUB_PASSTHROUGH = (id: string): ModelSpec => ({ ...model(id, id, "text", "chat", chat), displayName: undefined });
