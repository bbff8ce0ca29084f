import { z } from "zod";
import type { SubmitResult } from "../provider.js";
import type { OutputSource } from "../output-source.js";
import { ProviderError, type ProviderErrorKind } from "../provider-error.js";
import { readChatAnswer } from "../chat/chat-completion.js";
import { urlExpiresAt } from "../result-url.js";
import { parseAnswer } from "../answer-shape.js";
import type { GatewayFamily } from "./gateway-models.js";
import type { Usage } from "../../contract/usage.js";

/**
 * Reads the gateway's answer to a submit, per answer family (the gateway document's model
 * examples, section 7). Each family's shape is checked; nothing is assumed across families.
 */
export function readSubmitAnswer(family: GatewayFamily, body: unknown, input: Record<string, unknown>): SubmitResult {
  checkBaseResp(body);
  switch (family) {
    case "chat":
      return { type: "completed", ...readChatAnswer(body) };
    case "qwen-image": {
      const answer = parseAnswer(QwenImage, body, `${family} answer`);
      const outputs = answer.output.choices.flatMap((c) => c.message.content.map((part) => urlOutput(part.image)));
      return completed(outputs, reported({ images: answer.usage?.image_count }));
    }
    case "minimax-image":
      return completed(minimaxImages(parseAnswer(MinimaxImage, body, `${family} answer`).data));
    case "glm-image":
      return input.async === true
        ? task(body, family)
        : completed(parseAnswer(GlmImage, body, `${family} answer`).data.map((d) => urlOutput(d.url)));
    case "qwen-tts": {
      const answer = parseAnswer(QwenTts, body, `${family} answer`);
      return completed([urlOutput(answer.output.audio.url)], reported({ characters: answer.usage?.characters }));
    }
    case "minimax-tts": {
      const answer = parseAnswer(MinimaxTts, body, `${family} answer`);
      // the document shows both; `extra_info.audio_length` is left out: it names no unit, and its example disagrees with the size and bitrate beside it
      const characters = answer.usage?.characters ?? answer.extra_info?.usage_characters;
      return completed([minimaxAudio(answer, input)], reported({ characters }));
    }
    case "wan-video":
    case "minimax-video":
    case "cogvideo":
      return task(body, family);
    case "generic":
      return readGeneric(body);
  }
}

/** A usage figure: absent (never an error) when missing or of another type. */
const Figure = lenient(z.number().int().min(0));

const QwenImage = z.looseObject({
  output: z.looseObject({
    choices: z
      .array(z.looseObject({ message: z.looseObject({ content: z.array(z.looseObject({ image: z.string().min(1) })).min(1) }) }))
      .min(1),
  }),
  usage: lenient(z.looseObject({ image_count: Figure })),
});
const MinimaxImage = z.looseObject({
  data: z.looseObject({ image_url: z.array(z.string().min(1)).optional(), image_base64: z.array(z.string().min(1)).optional() }),
});
const GlmImage = z.looseObject({ data: z.array(z.looseObject({ url: z.string().min(1) })).min(1) });
const QwenTts = z.looseObject({
  output: z.looseObject({ audio: z.looseObject({ url: z.string().min(1) }) }),
  usage: lenient(z.looseObject({ characters: Figure })),
});
const MinimaxTts = z.looseObject({
  data: z.looseObject({
    audio: z.string().regex(/^[0-9a-fA-F]+$/, { message: "expected hex-encoded audio" }),
    status: z.number().optional(),
  }),
  extra_info: z.looseObject({ audio_format: z.string().optional(), usage_characters: Figure }).optional(),
  usage: lenient(z.looseObject({ characters: Figure })),
});

/** image-01 answers URLs, or base64 bytes when `response_format: "base64"`. */
function minimaxImages(data: z.infer<typeof MinimaxImage>["data"]): OutputSource[] {
  if (data.image_base64?.length)
    return data.image_base64.map((b64) => ({ inline: { encoding: "base64" as const, data: b64 }, ext: "png" }));
  if (data.image_url?.length) return data.image_url.map(urlOutput);
  throw new ProviderError("bad_response", "image-01 answer has neither data.image_url nor data.image_base64");
}

/** The request's `audio_setting.format` (the input was checked against the model's schema already). */
const AudioSetting = z.looseObject({ audio_setting: lenient(z.looseObject({ format: lenient(z.string()) })) }).catch({});

/** speech-2.8-hd answers hex bytes; the format is the one asked for in audio_setting (mp3 by default). */
function minimaxAudio(answer: z.infer<typeof MinimaxTts>, input: Record<string, unknown>): OutputSource {
  const asked = AudioSetting.parse(input).audio_setting?.format;
  return { inline: { encoding: "hex", data: answer.data.audio }, ext: answer.extra_info?.audio_format ?? asked ?? "mp3" };
}

/**
 * A field read where a family's shape is not known (pass-through models, the places a task id
 * may sit): absent when it is missing or of another type, never an error.
 */
export function lenient<T extends z.ZodType>(schema: T) {
  return schema.optional().catch(undefined);
}

const Id = z.union([z.string(), z.number()]).transform(String);

/** Where submit answers put a task id. */
const TaskIdPlaces = z
  .looseObject({ task_id: lenient(Id), output: lenient(z.looseObject({ task_id: lenient(Id) })), id: lenient(Id) })
  .catch({});

/**
 * The task id sits in different places per model: wan at top level and in `output` (the
 * document says prefer the top level), MiniMax `task_id` only, cogvideo `id` and `task_id`,
 * glm-image async "only the task id".
 */
export function taskIdOf(body: unknown): string | undefined {
  const places = TaskIdPlaces.parse(body);
  return places.task_id ?? places.output?.task_id ?? places.id;
}

function task(body: unknown, family: string): SubmitResult {
  const taskId = taskIdOf(body);
  if (!taskId)
    throw new ProviderError(
      "bad_response",
      `${family} answer has no task id (task_id, output.task_id or id): ${JSON.stringify(body).slice(0, 300)}`,
    );
  return { type: "task", taskId, status: { state: "pending", providerStatus: "submitted" } };
}

/** An answer that reads as chat: it has `choices`. */
const ChatLike = z.looseObject({ choices: z.unknown().refine((c) => Boolean(c)) });

/** Pass-through models: a task id if there is one, else any URL or inline bytes in a known place. */
function readGeneric(body: unknown): SubmitResult {
  const taskId = taskIdOf(body);
  if (taskId) return { type: "task", taskId, status: { state: "pending", providerStatus: "submitted" } };
  if (ChatLike.safeParse(body).success) return { type: "completed", ...readChatAnswer(body) };
  const found = findUrls(body);
  if (found.length === 0)
    throw new ProviderError(
      "bad_response",
      `pass-through answer has no task id, chat choices or result URL: ${JSON.stringify(body).slice(0, 300)}`,
    );
  return completed(found.map(urlOutput));
}

/** A value that may hold a URL; only http(s) ones are kept. */
const Place = z.unknown().optional();
const UrlItems = lenient(z.array(lenient(z.looseObject({ url: Place }))));

/** The places the document's answers put result URLs, each read on its own. */
const ResultPlaces = z
  .looseObject({
    output: lenient(
      z.looseObject({
        video_url: Place,
        audio: lenient(z.looseObject({ url: Place })),
        results: UrlItems,
        choices: lenient(
          z.array(
            lenient(
              z.looseObject({ message: lenient(z.looseObject({ content: lenient(z.array(lenient(z.looseObject({ image: Place })))) })) }),
            ),
          ),
        ),
      }),
    ),
    data: lenient(
      z.union([z.array(lenient(z.looseObject({ url: Place }))), z.looseObject({ image_url: lenient(z.array(Place)), video_url: Place })]),
    ),
    video_result: UrlItems,
    file: lenient(z.looseObject({ download_url: Place })),
    download_url: Place,
    video_url: Place,
  })
  .catch({});

/** URLs in the places the document's answers put them. */
export function findUrls(body: unknown): string[] {
  const b = ResultPlaces.parse(body);
  const data = b.data;
  const candidates: unknown[] = [
    b.output?.video_url,
    b.output?.audio?.url,
    ...(b.output?.results ?? []).map((r) => r?.url),
    ...(b.output?.choices ?? []).flatMap((c) => (c?.message?.content ?? []).map((p) => p?.image)),
    ...(Array.isArray(data) ? data.map((d) => d?.url) : []),
    ...(data && !Array.isArray(data) ? (data.image_url ?? []) : []),
    data && !Array.isArray(data) ? data.video_url : undefined,
    ...(b.video_result ?? []).map((v) => v?.url),
    b.file?.download_url,
    b.download_url,
    b.video_url,
  ];
  return candidates.filter((u): u is string => typeof u === "string" && /^https?:\/\//.test(u));
}

const completed = (outputs: OutputSource[], usage?: Usage): SubmitResult => ({ type: "completed", outputs, usage });

/** The figures an answer reported, as the provider's usage; undefined when it reported none. */
function reported(figures: Omit<Usage, "source">): Usage | undefined {
  const present = Object.entries(figures).filter(([, value]) => value !== undefined);
  return present.length > 0 ? { source: "provider", ...Object.fromEntries(present) } : undefined;
}
const urlOutput = (url: string): OutputSource => ({ url, expiresAt: urlExpiresAt(url) });

const BaseResp = z.looseObject({ base_resp: z.looseObject({ status_code: z.number(), status_msg: z.unknown() }) });

/**
 * MiniMax answers HTTP 200 with `base_resp.status_code` non-zero on errors. Codes from
 * MiniMax's error table: 1002 rate limit; 1000/1001/1013/1024/1033 server side; 1004/2049
 * authentication; anything else is a request the provider will not run.
 */
export function checkBaseResp(body: unknown): void {
  const parsed = BaseResp.safeParse(body);
  // no base_resp (other vendors) or no numeric code: nothing to check
  if (!parsed.success || parsed.data.base_resp.status_code === 0) return;
  const resp = parsed.data.base_resp;
  const code = resp.status_code;
  const kind: ProviderErrorKind =
    code === 1002
      ? "rate_limited"
      : [1000, 1001, 1013, 1024, 1033].includes(code)
        ? "server"
        : [1004, 2049].includes(code)
          ? "authentication"
          : "invalid_request";
  throw new ProviderError(
    kind,
    typeof resp.status_msg === "string" && resp.status_msg ? resp.status_msg : `base_resp.status_code ${code}`,
    { providerCode: String(code) },
  );
}
