import type { Dispatcher } from "undici";
import type { Logger } from "pino";
import type { ModelSpec } from "../model-spec.js";
import type { Provider, SubmitResult, TaskStatus } from "../provider.js";
import { ProviderError, type ProviderErrorKind } from "../provider-error.js";
import { callJson } from "../http-json.js";
import { readChatAnswer } from "../chat/chat-completion.js";
import { OpenAiErrorBody } from "../answer-shape.js";

export interface WcodeOptions {
  apiKey: string;
  /** @defaultValue ["https://wcode.net/api/gpt/v1"] */
  baseUrls: readonly string[];
  dispatcher?: Dispatcher;
  /** The largest answer read (`KILN_MAX_ANSWER_BYTES`); a longer one is a `bad_response`. @defaultValue 16 MiB */
  maxAnswerBytes?: number;
  log: Logger;
}

/**
 * The wcode gateway (its Hunyuan chat API document and its per-model documents):
 * OpenAI-compatible chat completions at `<base>/chat/completions`, synchronous and
 * non-streaming. hunyuan-a13b answers with `reasoning` instead of `reasoning_content` and wraps
 * its answer in `<answer>` tags, which the answer text drops.
 */
export class WcodeProvider implements Provider {
  readonly name = "wcode";

  constructor(private readonly options: WcodeOptions) {}

  async submit(model: ModelSpec, input: Record<string, unknown>): Promise<SubmitResult> {
    const answer = await callJson({
      baseUrls: this.options.baseUrls,
      path: "chat/completions",
      body: { model: model.id, ...input, stream: false },
      apiKey: this.options.apiKey,
      dispatcher: this.options.dispatcher,
      maxAnswerBytes: this.options.maxAnswerBytes,
      readError: readWcodeError,
      timeoutMs: 300_000,
    });
    const balance = answer.headers["x-account-balance"];
    // the Hunyuan chat API document's response headers: the key's remaining balance (yuan), worth watching before it runs out
    if (typeof balance === "string")
      this.options.log.info({ provider: this.name, model: model.id, accountBalance: balance }, "wcode account balance");
    return { type: "completed", ...readChatAnswer(answer.body, unwrapAnswer) };
  }

  poll(model: ModelSpec): Promise<TaskStatus> {
    return Promise.reject(new ProviderError("invalid_request", `${model.id} is synchronous: there is no task to query`));
  }
}

/** `<answer>\n…\n</answer>` → `…` (hunyuan-a13b); other answers are returned as they are. */
export function unwrapAnswer(content: string): string {
  const match = /^\s*<answer>\s*([\s\S]*?)\s*<\/answer>\s*$/.exec(content);
  return match ? match[1]! : content;
}

/**
 * `{"error": {"message", "type", "param", "code"}}` (the Hunyuan chat API document's error
 * response example). That example is an invalid key reported as `invalid_request_error` with
 * code null: the HTTP status (401) decides the kind, the body gives the message.
 */
export function readWcodeError(status: number, body: unknown): { kind?: ProviderErrorKind; code?: string; message?: string } {
  const parsed = OpenAiErrorBody.safeParse(body);
  if (!parsed.success) return {};
  const { message, type, code } = parsed.data.error;
  const invalidKey = /invalid api-?key/i.test(message ?? "");
  return {
    kind: invalidKey ? "authentication" : undefined,
    code: code === null || code === undefined ? (type ?? undefined) : String(code),
    message,
  };
}
