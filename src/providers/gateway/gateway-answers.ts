import { z } from "zod";
import type { SubmitResult } from "../provider.js";
import type { OutputSource } from "../output-source.js";
import { ProviderError, type ProviderErrorKind } from "../provider-error.js";
import { readChatAnswer } from "../chat/chat-completion.js";
import { urlExpiresAt } from "../result-url.js";
import { parseAnswer } from "../answer-shape.js";
import type { GatewayFamily } from "./gateway-models.js";

/**
 * Reads the gateway's answer to a submit, per answer family (seed 004 §7). Each family's
 * shape is checked; nothing is assumed across families.
 */
export function readSubmitAnswer(family: GatewayFamily, body: unknown, input: Record<string, unknown>): SubmitResult {
  checkBaseResp(body);
  switch (family) {
    case "chat":
      return { type: "completed", ...readChatAnswer(body) };
    case "qwen-image":
      return completed(parseAnswer(QwenImage, body, `${family} answer`).output.choices.flatMap((c) => c.message.content.map((part) => urlOutput(part.image))));
    case "minimax-image":
      return completed(minimaxImages(parseAnswer(MinimaxImage, body, `${family} answer`).data));
    case "glm-image":
      return input.async === true ? task(body, family) : completed(parseAnswer(GlmImage, body, `${family} answer`).data.map((d) => urlOutput(d.url)));
    case "qwen-tts":
      return completed([urlOutput(parseAnswer(QwenTts, body, `${family} answer`).output.audio.url)]);
    case "minimax-tts":
      return completed([minimaxAudio(parseAnswer(MinimaxTts, body, `${family} answer`), input)]);
    case "wan-video":
    case "minimax-video":
    case "cogvideo":
      return task(body, family);
    case "generic":
      return readGeneric(body);
  }
}

const QwenImage = z.looseObject({ output: z.looseObject({ choices: z.array(z.looseObject({ message: z.looseObject({ content: z.array(z.looseObject({ image: z.string().min(1) })).min(1) }) })).min(1) }) });
const MinimaxImage = z.looseObject({ data: z.looseObject({ image_url: z.array(z.string().min(1)).optional(), image_base64: z.array(z.string().min(1)).optional() }) });
const GlmImage = z.looseObject({ data: z.array(z.looseObject({ url: z.string().min(1) })).min(1) });
const QwenTts = z.looseObject({ output: z.looseObject({ audio: z.looseObject({ url: z.string().min(1) }) }) });
const MinimaxTts = z.looseObject({ data: z.looseObject({ audio: z.string().regex(/^[0-9a-fA-F]+$/, { message: "expected hex-encoded audio" }), status: z.number().optional() }), extra_info: z.looseObject({ audio_format: z.string().optional() }).optional() });

/** image-01 answers URLs, or base64 bytes when `response_format: "base64"`. */
function minimaxImages(data: z.infer<typeof MinimaxImage>["data"]): OutputSource[] {
  if (data.image_base64?.length) return data.image_base64.map((b64) => ({ inline: { encoding: "base64" as const, data: b64 }, ext: "png" }));
  if (data.image_url?.length) return data.image_url.map(urlOutput);
  throw new ProviderError("bad_response", "image-01 answer has neither data.image_url nor data.image_base64");
}

/** speech-2.8-hd answers hex bytes; the format is the one asked for in audio_setting (mp3 by default). */
function minimaxAudio(answer: z.infer<typeof MinimaxTts>, input: Record<string, unknown>): OutputSource {
  const asked = (input.audio_setting as { format?: string } | undefined)?.format;
  return { inline: { encoding: "hex", data: answer.data.audio }, ext: answer.extra_info?.audio_format ?? asked ?? "mp3" };
}

/**
 * The task id sits in different places per model: wan at top level and in `output` (the
 * document says prefer the top level), MiniMax `task_id` only, cogvideo `id` and `task_id`,
 * glm-image async "only the task id".
 */
export function taskIdOf(body: unknown): string | undefined {
  const b = body as { task_id?: unknown; id?: unknown; output?: { task_id?: unknown } } | null;
  const id = b?.task_id ?? b?.output?.task_id ?? b?.id;
  return typeof id === "string" || typeof id === "number" ? String(id) : undefined;
}

function task(body: unknown, family: string): SubmitResult {
  const taskId = taskIdOf(body);
  if (!taskId) throw new ProviderError("bad_response", `${family} answer has no task id: ${JSON.stringify(body).slice(0, 300)}`);
  return { type: "task", taskId, status: { state: "pending", providerStatus: "submitted" } };
}

/** Pass-through models: a task id if there is one, else any URL or inline bytes in a known place. */
function readGeneric(body: unknown): SubmitResult {
  const taskId = taskIdOf(body);
  if (taskId) return { type: "task", taskId, status: { state: "pending", providerStatus: "submitted" } };
  if ((body as { choices?: unknown }).choices) return { type: "completed", ...readChatAnswer(body) };
  const found = findUrls(body);
  if (found.length === 0) throw new ProviderError("bad_response", `pass-through answer has no task id, chat choices or result URL: ${JSON.stringify(body).slice(0, 300)}`);
  return completed(found.map(urlOutput));
}

/** URLs in the places the document's answers put them. */
export function findUrls(body: unknown): string[] {
  const b = body as Record<string, any> | null;
  const candidates: unknown[] = [
    b?.output?.video_url,
    b?.output?.audio?.url,
    ...(b?.output?.results ?? []).map((r: { url?: unknown }) => r?.url),
    ...(b?.output?.choices ?? []).flatMap((c: any) => (c?.message?.content ?? []).map((p: any) => p?.image)),
    ...(Array.isArray(b?.data) ? b.data.map((d: { url?: unknown }) => d?.url) : []),
    ...(b?.data?.image_url ?? []),
    b?.data?.video_url,
    ...(b?.video_result ?? []).map((v: { url?: unknown }) => v?.url),
    b?.file?.download_url,
    b?.download_url,
    b?.video_url,
  ];
  return candidates.filter((u): u is string => typeof u === "string" && /^https?:\/\//.test(u));
}

const completed = (outputs: OutputSource[]): SubmitResult => ({ type: "completed", outputs });
const urlOutput = (url: string): OutputSource => ({ url, expiresAt: urlExpiresAt(url) });


/**
 * MiniMax answers HTTP 200 with `base_resp.status_code` non-zero on errors. Codes from
 * MiniMax's error table: 1002 rate limit; 1000/1001/1013/1024/1033 server side; 1004/2049
 * authentication; anything else is a request the provider will not run.
 */
export function checkBaseResp(body: unknown): void {
  const resp = (body as { base_resp?: { status_code?: unknown; status_msg?: unknown } } | null)?.base_resp;
  if (!resp || typeof resp.status_code !== "number" || resp.status_code === 0) return;
  const code = resp.status_code;
  const kind: ProviderErrorKind = code === 1002 ? "rate_limited" : [1000, 1001, 1013, 1024, 1033].includes(code) ? "server" : [1004, 2049].includes(code) ? "authentication" : "invalid_request";
  throw new ProviderError(kind, typeof resp.status_msg === "string" && resp.status_msg ? resp.status_msg : `base_resp.status_code ${code}`, { providerCode: String(code) });
}
