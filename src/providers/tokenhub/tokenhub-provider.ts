import type { Dispatcher } from "undici";
import type { Logger } from "pino";
import type { ModelSpec } from "../model-spec.js";
import type { Provider, SubmitResult, TaskStatus } from "../provider.js";
import { ProviderError } from "../provider-error.js";
import { callJson } from "../http-json.js";
import { urlExpiresAt } from "../result-url.js";
import { readChatAnswer } from "../chat/chat-completion.js";
import { UnknownStatusLog } from "../unknown-status-log.js";
import { parseAnswer } from "../answer-shape.js";
import type { TokenHubEndpoint } from "./tokenhub-models.js";
import { TokenHubLiteAnswer, TokenHubQueried, TokenHubSubmitted, readTaskStatus, readTokenHubError } from "./tokenhub-responses.js";

export interface TokenHubOptions {
  apiKey: string;
  /** Tried in order while unreachable. @defaultValue the guide's tokenhub.tencentmaas.com, then .cn */
  baseUrls: readonly string[];
  dispatcher?: Dispatcher;
  /** The largest answer read (`KILN_MAX_ANSWER_BYTES`); a longer one is a `bad_response`. @defaultValue 16 MiB */
  maxAnswerBytes?: number;
  log: Logger;
}

const PATHS: Record<TokenHubEndpoint, { submit: string; query?: string }> = {
  image: { submit: "v1/api/image/submit", query: "v1/api/image/query" },
  "image-lite": { submit: "v1/api/image/lite" },
  video: { submit: "v1/api/video/submit", query: "v1/api/video/query" },
  "3d": { submit: "v1/api/3d/submit", query: "v1/api/3d/query" },
  chat: { submit: "v1/chat/completions" },
};

/** Tencent TokenHub, as its guide documents it: image, video and 3D generation over `/v1/api/<family>/…`. */
export class TokenHubProvider implements Provider {
  readonly name = "tokenhub";
  private readonly unknown: UnknownStatusLog;

  constructor(private readonly options: TokenHubOptions) {
    this.unknown = new UnknownStatusLog(options.log, this.name);
  }

  async submit(model: ModelSpec, input: Record<string, unknown>): Promise<SubmitResult> {
    const endpoint = model.endpoint as TokenHubEndpoint;
    const body = endpoint === "image-lite" ? { model: model.id, rsp_img_type: "url", ...input } : { model: model.id, ...input };
    // a synchronous answer (chat, HY-Image-Lite) arrives only when the work is done
    const answer = await this.call(
      PATHS[endpoint].submit,
      endpoint === "chat" ? { ...body, stream: false } : body,
      model.mode === "sync" ? 300_000 : 60_000,
    );
    if (endpoint === "chat") return { type: "completed", ...readChatAnswer(answer) };
    if (endpoint === "image-lite") {
      const lite = parseAnswer(TokenHubLiteAnswer, answer, "TokenHub HY-Image-Lite answer");
      return { type: "completed", outputs: lite.data.map((d) => ({ url: d.url, expiresAt: urlExpiresAt(d.url) })) };
    }
    const submitted = parseAnswer(TokenHubSubmitted, answer, "TokenHub submit answer");
    return { type: "task", taskId: submitted.id, status: { state: "pending", providerStatus: submitted.status ?? "queued" } };
  }

  async poll(model: ModelSpec, taskId: string): Promise<TaskStatus> {
    const endpoint = model.endpoint as TokenHubEndpoint;
    const query = PATHS[endpoint].query;
    if (!query) throw new ProviderError("invalid_request", `${model.id} is synchronous: there is no task to query`);
    const answer = parseAnswer(TokenHubQueried, await this.call(query, { model: model.id, id: taskId }, 60_000), "TokenHub query answer");
    let status;
    try {
      status = readTaskStatus(answer, endpoint === "image-lite" || endpoint === "chat" ? "image" : endpoint);
    } catch (err) {
      throw new ProviderError("bad_response", `query answer for task ${taskId}: ${(err as Error).message}`, { cause: err, answer });
    }
    if (status.state !== "unknown") return status;
    this.unknown.note(status.providerStatus, model.id);
    return { state: "pending", providerStatus: status.providerStatus, progress: answer.progress };
  }

  private async call(path: string, body: unknown, timeoutMs: number): Promise<unknown> {
    const answer = await callJson({
      baseUrls: this.options.baseUrls,
      path,
      body,
      apiKey: this.options.apiKey,
      dispatcher: this.options.dispatcher,
      maxAnswerBytes: this.options.maxAnswerBytes,
      readError: readTokenHubError,
      timeoutMs,
    });
    return answer.body;
  }
}
