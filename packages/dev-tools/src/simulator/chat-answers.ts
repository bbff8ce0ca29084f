import type { SimAnswer } from "./sim-route.js";
import type { RouteContext } from "./sim-route.js";

type ChatProvider = "tokenhub" | "gateway" | "wcode";

/** Models whose answers always carry their chain of thought (reasoning models). */
const ALWAYS_REASONS = /^(MiniMax-M2\.7|minimax-m2|deepseek-r1|hunyuan-2\.0-thinking|kimi-k2-thinking)/i;
/** Models that never do, whatever `enable_thinking` says. */
const NEVER_REASONS = /^(glm-5v-turbo|hunyuan-(standard|turbo|large|lite|turbos))/i;

/**
 * A chat completion as each provider's document shows it: TokenHub's `usage` details, the
 * gateway's MiniMax `base_resp` and sensitivity flags, wcode's hunyuan-a13b `reasoning` field
 * and `<answer>` tags. Undefined when the messages are not a conversation ending with `user`.
 */
export function chatAnswer(provider: ChatProvider, model: string, body: Record<string, unknown>, ctx: RouteContext): SimAnswer | undefined {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<{ role?: string; content?: unknown }>) : [];
  const last = messages.at(-1);
  if (!last || last.role !== "user") return undefined;
  const prompt = typeof last.content === "string" ? last.content : JSON.stringify(last.content);
  const task = ctx.book.create({ provider, model, prompt, durationMs: 0, files: [] }, ctx.options, ctx.random);
  const content = `[${model}] simulated answer to: ${prompt}`;
  const reasons = !NEVER_REASONS.test(model) && (ALWAYS_REASONS.test(model) || body.enable_thinking === true);
  const reasoning = reasons ? `The user asked "${prompt.slice(0, 60)}"; answer briefly.` : undefined;
  const usage = { prompt_tokens: prompt.length, completion_tokens: content.length, total_tokens: prompt.length + content.length };
  const id = `chatcmpl-${task.id}`;
  if (provider === "wcode") return wcode(model, id, content, reasoning, usage);
  const message: Record<string, unknown> = { role: "assistant", content, ...(reasoning ? { reasoning_content: reasoning } : {}) };
  const answer: Record<string, unknown> = {
    id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, finish_reason: "stop", message }],
    usage,
  };
  if (provider === "tokenhub")
    answer.usage = {
      ...usage,
      prompt_tokens_details: { cached_token: 0 },
      completion_tokens_details: { reasoning_tokens: reasoning?.length ?? 0 },
    };
  if (provider === "gateway") answer.usage = gatewayUsage(model, usage, reasoning);
  if (/^MiniMax/i.test(model) && provider === "gateway")
    Object.assign(answer, {
      input_sensitive: false,
      output_sensitive: false,
      input_sensitive_type: 0,
      output_sensitive_type: 0,
      base_resp: { status_code: 0, status_msg: "" },
    });
  return { status: 200, body: answer };
}

/**
 * The gateway's usage per vendor (the gateway document's model examples, section 7): Qwen adds cached and reasoning token details,
 * MiniMax `total_characters` and reasoning tokens; GLM, Kimi and DeepSeek the three counts.
 */
function gatewayUsage(model: string, usage: Record<string, number>, reasoning: string | undefined): Record<string, unknown> {
  if (/^qwen/i.test(model))
    return {
      ...usage,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: reasoning?.length ?? 0 },
    };
  if (/^MiniMax/i.test(model))
    return { ...usage, total_characters: 0, completion_tokens_details: { reasoning_tokens: reasoning?.length ?? 0 } };
  return usage;
}

/** wcode (the wcode gateway's documents): hunyuan-a13b answers `reasoning` and `<answer>`-wrapped content; every answer carries the key's balance. */
function wcode(model: string, id: string, content: string, reasoning: string | undefined, usage: Record<string, number>): SimAnswer {
  const a13b = model === "tencent/hunyuan-a13b-instruct";
  const message = a13b
    ? {
        role: "assistant",
        content: `<answer>\n${content}\n</answer>`,
        refusal: null,
        reasoning: reasoning ?? "The user greets me; introduce myself.",
      }
    : { role: "assistant", content };
  // the hunyuan-a13b document shows its usage with a null prompt_tokens_details; the vision and chat API documents the three counts alone
  const reported = a13b ? { ...usage, prompt_tokens_details: null } : usage;
  const choice = a13b
    ? { logprobs: null, finish_reason: "stop", native_finish_reason: "stop", index: 0, message }
    : { index: 0, message, finish_reason: "stop" };
  const body = {
    id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: "",
    choices: [choice],
    usage: reported,
  };
  return { status: 200, body, headers: { "x-account-balance": "123.0165" } };
}
