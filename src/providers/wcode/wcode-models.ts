import type { ModelSpec } from "../model-spec.js";
import { POLL_POLICIES } from "../poll-policy.js";
import { requestBody } from "../input-schemas.js";
import { chatMessages, noStreaming } from "../chat/chat-completion.js";

/** OpenAI chat body; hunyuan-turbos-vision takes images as OpenAI content parts inside `messages`. */
const chat = requestBody({ messages: chatMessages, stream: noStreaming }, { snakeCase: true });

/** The Hunyuan chat API document: `stream` defaults to false. */
const CHAT_DEFAULTS = { stream: false };

/**
 * The sampling parameters' defaults, as the documents of hunyuan-turbos-vision-20250619 and
 * tencent/hunyuan-a13b-instruct state them (温度 1.0, Top-P 1.0, Top-K 0, penalties 0 and 1, Min-P and Top-A 0).
 */
const SAMPLING_DEFAULTS = {
  ...CHAT_DEFAULTS,
  temperature: 1,
  top_p: 1,
  top_k: 0,
  frequency_penalty: 0,
  presence_penalty: 0,
  repetition_penalty: 1,
  min_p: 0,
  top_a: 0,
};
const DOCUMENTED_SAMPLING = new Set(["hunyuan-turbos-vision-20250619", "tencent/hunyuan-a13b-instruct"]);

function model(id: string): ModelSpec {
  const defaults = DOCUMENTED_SAMPLING.has(id) ? SAMPLING_DEFAULTS : CHAT_DEFAULTS;
  return { provider: "wcode", id, kind: "text", mode: "sync", endpoint: "chat", input: chat, poll: POLL_POLICIES.text, defaults };
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
