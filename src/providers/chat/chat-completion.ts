import { z } from "zod";
import type { OutputSource } from "../output-source.js";
import { ProviderError } from "../provider-error.js";
import type { Completion } from "../../contract/completion.js";
import type { Usage } from "../../contract/usage.js";

/**
 * An OpenAI-compatible chat completion answer (TokenHub text, the gateway's text models,
 * wcode). Providers differ in the reasoning field: `reasoning_content` (Qwen, GLM, Kimi,
 * DeepSeek, MiniMax) or `reasoning` (wcode's hunyuan-a13b).
 */
const ChatAnswer = z.looseObject({
  id: z.string().optional(),
  model: z.string().optional(),
  choices: z
    .array(
      z.looseObject({
        finish_reason: z.string().nullish(),
        message: z.looseObject({
          content: z.string().nullish(),
          reasoning_content: z.string().nullish(),
          reasoning: z.string().nullish(),
          tool_calls: z.array(z.unknown()).nullish(),
        }),
      }),
    )
    .min(1),
  usage: z.record(z.string(), z.unknown()).nullish(),
  base_resp: z.looseObject({ status_code: z.number(), status_msg: z.string().optional() }).optional(),
});
type ChatAnswer = z.infer<typeof ChatAnswer>;

/**
 * Reads a chat answer into its completion and two outputs: the whole response JSON and the
 * answer text. `answerText` lets a provider unwrap its own markup (e.g. `<answer>` tags).
 */
export function readChatAnswer(
  body: unknown,
  answerText: (content: string) => string = (c) => c,
): { completion: Completion; outputs: OutputSource[]; usage?: Usage } {
  const parsed = ChatAnswer.safeParse(body);
  if (!parsed.success) throw new ProviderError("bad_response", `chat answer did not have the documented shape: ${parsed.error.message}`);
  const answer = parsed.data;
  if (answer.base_resp && answer.base_resp.status_code !== 0) {
    throw new ProviderError("invalid_request", answer.base_resp.status_msg || `base_resp.status_code ${answer.base_resp.status_code}`, {
      providerCode: String(answer.base_resp.status_code),
    });
  }
  const choice = answer.choices[0]!;
  const content = choice.message.content ?? null;
  const completion: Completion = {
    content,
    reasoningContent: choice.message.reasoning_content ?? choice.message.reasoning ?? undefined,
    finishReason: choice.finish_reason ?? undefined,
    toolCalls: choice.message.tool_calls ?? undefined,
    usage: answer.usage ?? undefined,
  };
  const outputs: OutputSource[] = [
    { inline: { encoding: "utf8", data: JSON.stringify(body, null, 2) }, ext: "json", contentType: "application/json", role: "response" },
    {
      inline: { encoding: "utf8", data: content === null ? "" : answerText(content) },
      ext: "txt",
      contentType: "text/plain; charset=utf-8",
      role: "answer",
    },
  ];
  return { completion, outputs, usage: tokenUsage(answer.usage) };
}

const Tokens = z.number().int().min(0).optional().catch(undefined);
const TokenCounts = z.looseObject({ prompt_tokens: Tokens, completion_tokens: Tokens, total_tokens: Tokens });

/**
 * `usage.prompt_tokens` / `completion_tokens` / `total_tokens`, which every chat document shows
 * (TokenHub, the gateway's vendors, wcode); undefined when the answer has none of them.
 */
function tokenUsage(usage: ChatAnswer["usage"]): Usage | undefined {
  const parsed = TokenCounts.safeParse(usage ?? {});
  if (!parsed.success) return undefined;
  const { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: totalTokens } = parsed.data;
  if (promptTokens === undefined && completionTokens === undefined && totalTokens === undefined) return undefined;
  return { source: "provider", promptTokens, completionTokens, totalTokens };
}

/** A chat request body: `messages` required, non-streaming (kiln archives whole answers). */
export const chatMessages = z
  .array(z.looseObject({ role: z.string().min(1), content: z.union([z.string(), z.array(z.unknown()), z.null()]) }))
  .min(1, { message: "at least one message is required" });

export const noStreaming = z.literal(false, { message: "streaming is not supported: kiln archives whole answers" }).optional();
