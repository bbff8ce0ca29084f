import type { ModelSpec } from "../model-spec.js";
import { POLL_POLICIES } from "../poll-policy.js";
import { requestBody } from "../input-schemas.js";
import { chatMessages, noStreaming } from "../chat/chat-completion.js";

/** OpenAI chat body; hunyuan-turbos-vision takes images as OpenAI content parts inside `messages`. */
const chat = requestBody({ messages: chatMessages, stream: noStreaming }, { snakeCase: true });

function model(id: string): ModelSpec {
  return { provider: "wcode", id, kind: "text", mode: "sync", endpoint: "chat", input: chat, poll: POLL_POLICIES.text };
}

/**
 * The models the wcode gateway's documents describe (hunyuan-standard in the Hunyuan chat API
 * document's examples, hunyuan-turbos-vision-20250619 and tencent/hunyuan-a13b-instruct in a
 * document each), then the others the chat API document's (partial) model list names.
 */
export const WCODE_MODELS: readonly ModelSpec[] = [
  "hunyuan-standard",
  "hunyuan-turbos-vision-20250619",
  "tencent/hunyuan-a13b-instruct",
  "hunyuan-turbos-latest",
  "hunyuan-turbo",
  "hunyuan-large",
  "hunyuan-lite",
].map(model);

/** Pass-through: wcode serves many more models through the same chat endpoint. */
export const WCODE_PASSTHROUGH = model;
