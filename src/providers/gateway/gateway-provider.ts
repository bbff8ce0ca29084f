import type { Dispatcher } from "undici";
import type { Logger } from "pino";
import { z } from "zod";
import type { ModelSpec } from "../model-spec.js";
import type { Provider, SubmitResult, TaskStatus } from "../provider.js";
import { ProviderError, type ProviderErrorKind } from "../provider-error.js";
import { callJson } from "../http-json.js";
import { OpenAiErrorBody } from "../answer-shape.js";
import { UnknownStatusLog } from "../unknown-status-log.js";
import { checkBaseResp, readSubmitAnswer } from "./gateway-answers.js";
import type { GatewayFamily } from "./gateway-models.js";
import { readGatewayTask } from "./gateway-tasks.js";

export interface GatewayOptions {
  apiKey: string;
  /** Tried in order while unreachable. */
  baseUrls: readonly string[];
  /**
   * Where every request is POSTed. The document shows the bodies but not the path, so this is
   * configurable. @defaultValue "/v1/chat/completions"
   */
  submitPath: string;
  dispatcher?: Dispatcher;
  /** The largest answer read (`KILN_MAX_ANSWER_BYTES`); a longer one is a `bad_response`. @defaultValue 16 MiB */
  maxAnswerBytes?: number;
  log: Logger;
}

/** The unified multi-vendor gateway (Qwen/Wan, MiniMax, GLM, Kimi, DeepSeek): one submit path, task queries per media type. */
export class GatewayProvider implements Provider {
  readonly name = "gateway";
  private readonly unknown: UnknownStatusLog;

  constructor(private readonly options: GatewayOptions) {
    this.unknown = new UnknownStatusLog(options.log, this.name);
  }

  async submit(model: ModelSpec, input: Record<string, unknown>): Promise<SubmitResult> {
    const body = await this.call(
      "POST",
      this.options.submitPath,
      { model: model.id, ...input, stream: false },
      model.mode === "sync" ? 300_000 : 60_000,
    );
    return readSubmitAnswer(model.endpoint as GatewayFamily, body, input);
  }

  async poll(model: ModelSpec, taskId: string): Promise<TaskStatus> {
    const family = model.endpoint as GatewayFamily;
    const path = `/v1/${family === "glm-image" ? "images" : "videos"}/generations/${encodeURIComponent(taskId)}`;
    const body = await this.call("GET", path, undefined, 60_000);
    checkBaseResp(body);
    let reading;
    try {
      reading = readGatewayTask(family, body);
    } catch (err) {
      throw new ProviderError("bad_response", `task ${taskId}: ${(err as Error).message}`, { cause: err, answer: body });
    }
    const { reader, status } = reading;
    this.options.log.debug({ provider: this.name, model: model.id, taskId, reader, status: status.state }, "task answer read");
    if (status.state !== "unknown") return status;
    this.unknown.note(status.providerStatus, model.id);
    return { state: "pending", providerStatus: status.providerStatus };
  }

  private async call(method: "GET" | "POST", path: string, body: unknown, timeoutMs: number): Promise<unknown> {
    const answer = await callJson({
      baseUrls: this.options.baseUrls,
      path: path.replace(/^\//, ""),
      method,
      body,
      apiKey: this.options.apiKey,
      dispatcher: this.options.dispatcher,
      maxAnswerBytes: this.options.maxAnswerBytes,
      readError: readGatewayError,
      timeoutMs,
    });
    return answer.body;
  }
}

const VendorError = z.looseObject({ code: z.union([z.string(), z.number()]), message: z.string() });

/**
 * The error bodies read (the gateway's document shows none): OpenAI-style
 * `{error: {message, type, code}}` and DashScope-style `{code, message, request_id}`. The HTTP
 * status decides the kind except for a 400 whose code names a rate limit or an auth problem.
 */
export function readGatewayError(status: number, body: unknown): { kind?: ProviderErrorKind; code?: string; message?: string } {
  const openAi = OpenAiErrorBody.safeParse(body);
  if (openAi.success) return { code: stringOf(openAi.data.error.code ?? openAi.data.error.type), message: openAi.data.error.message };
  const vendor = VendorError.safeParse(body);
  if (vendor.success) {
    const code = String(vendor.data.code);
    const kind: ProviderErrorKind | undefined = /throttl|ratelimit|rate_limit/i.test(code)
      ? "rate_limited"
      : /invalidapikey|unauthori/i.test(code)
        ? "authentication"
        : undefined;
    return { kind: status === 400 ? kind : undefined, code, message: vendor.data.message };
  }
  return {};
}

function stringOf(value: string | number | null | undefined): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}
