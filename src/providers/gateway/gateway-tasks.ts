import { z } from "zod";
import type { TaskStatus } from "../provider.js";
import type { OutputSource } from "../output-source.js";
import { parseAnswer } from "../answer-shape.js";
import { urlExpiresAt } from "../result-url.js";
import { findUrls, lenient } from "./gateway-answers.js";
import type { GatewayFamily } from "./gateway-models.js";

/** Status words and codes come as strings, sometimes as numbers. */
const Word = z.union([z.string(), z.number()]).transform(String);

/** A result URL: only http(s) is ever downloaded. */
const ResultUrl = z.string().regex(/^https?:\/\//, { message: "expected an http(s) URL" });

/** wan (and glm-image async): everything under `output`; a video URL or a list of results. */
const WanTask = z.looseObject({
  output: z.looseObject({
    task_status: Word,
    progress: lenient(z.number()),
    video_url: ResultUrl.optional(),
    results: z.array(z.looseObject({ url: ResultUrl })).optional(),
    code: Word.optional(),
    message: z.string().optional(),
  }),
});

/** MiniMax Hailuo: `status` at top level, the file's `download_url`, a `fail_reason` on failure. */
const MinimaxTask = z.looseObject({
  status: Word,
  file: z.looseObject({ download_url: ResultUrl.optional() }).optional(),
  fail_reason: z.string().optional(),
});

/** cogvideo: `task_status` at top level, `video_result[]` with a cover image, `error` on failure. */
const CogTask = z.looseObject({
  task_status: Word,
  video_result: z.array(z.looseObject({ url: ResultUrl.optional(), cover_image_url: ResultUrl.optional() })).optional(),
  error: z.looseObject({ code: Word.optional(), message: z.string().optional() }).optional(),
});

/**
 * Pass-through models: no document says where their status is, so every place the known
 * families use is read, and a field of an unexpected type counts as absent.
 */
const GenericTask = z
  .looseObject({
    output: lenient(
      z.looseObject({ task_status: lenient(Word), progress: lenient(z.number()), code: lenient(Word), message: lenient(z.string()) }),
    ),
    task_status: lenient(Word),
    status: lenient(Word),
    data: lenient(z.looseObject({ status: lenient(Word), task_status: lenient(Word) })),
    code: lenient(Word),
    message: lenient(z.string()),
    error: lenient(z.looseObject({ code: lenient(Word), message: lenient(z.string()) })),
    base_resp: lenient(z.looseObject({ status_code: lenient(Word), status_msg: lenient(z.string()) })),
    fail_reason: lenient(z.string()),
  })
  .catch({});

/** One query answer, read per family into what the state machine needs. */
interface TaskAnswer {
  word: string;
  progress?: number;
  outputs(): OutputSource[];
  failure: { code?: string; message?: string };
}

/**
 * Reads a task query answer. The document warns that each model answers in its own structure
 * with its own status words, so each family has its own schema (an answer that does not match
 * it is a `bad_response` naming the field), and pass-through models a careful generic reading:
 * - wan (and glm-image async): `output.task_status` PENDING/RUNNING/SUCCEEDED/FAILED/CANCELED,
 *   `output.video_url` or `output.results[].url`, failure in `output.code`/`output.message`;
 * - MiniMax Hailuo: `status` Queueing/Preparing/Processing/Success/Fail, `file.download_url`;
 * - cogvideo: `task_status` PROCESSING/SUCCESS/FAIL, `video_result[].url` (+ cover image).
 */
export function readGatewayTask(family: GatewayFamily, body: unknown): TaskStatus | { state: "unknown"; providerStatus: string } {
  const answer = readAnswer(family, body);
  switch (classify(answer.word)) {
    case "pending":
      return { state: "pending", providerStatus: answer.word, progress: answer.progress };
    case "succeeded":
      return { state: "succeeded", outputs: withExpiry(family, answer.outputs(), body) };
    case "failed":
      return {
        state: "failed",
        code: answer.failure.code ?? "task_failed",
        message: answer.failure.message ?? "the provider reported the task as failed without a reason",
      };
    case "unknown":
      return { state: "unknown", providerStatus: answer.word || "(none)" };
  }
}

function readAnswer(family: GatewayFamily, body: unknown): TaskAnswer {
  const what = `${family} task answer`;
  switch (family) {
    case "wan-video":
    case "glm-image": {
      const { output } = parseAnswer(WanTask, body, what);
      const urls = [...(output.video_url ? [output.video_url] : []), ...(output.results ?? []).map((r) => r.url)];
      return {
        word: output.task_status,
        progress: output.progress,
        outputs: () => urls.map((url) => ({ url })),
        failure: { code: output.code, message: output.message },
      };
    }
    case "minimax-video": {
      const answer = parseAnswer(MinimaxTask, body, what);
      const url = answer.file?.download_url;
      return { word: answer.status, outputs: () => (url ? [{ url }] : []), failure: { message: answer.fail_reason } };
    }
    case "cogvideo": {
      const answer = parseAnswer(CogTask, body, what);
      const outputs = (answer.video_result ?? []).flatMap((v) => [
        ...(v.url ? [{ url: v.url, role: "video" }] : []),
        ...(v.cover_image_url ? [{ url: v.cover_image_url, role: "cover" }] : []),
      ]);
      return { word: answer.task_status, outputs: () => outputs, failure: { code: answer.error?.code, message: answer.error?.message } };
    }
    default:
      return readGenericAnswer(body);
  }
}

function readGenericAnswer(body: unknown): TaskAnswer {
  const b = GenericTask.parse(body);
  const word = b.output?.task_status ?? b.task_status ?? b.status ?? b.data?.status ?? b.data?.task_status ?? "";
  const failure = {
    code: b.output?.code ?? b.code ?? b.error?.code ?? b.base_resp?.status_code,
    message: b.output?.message ?? b.message ?? b.error?.message ?? b.base_resp?.status_msg ?? b.fail_reason,
  };
  return { word, progress: b.output?.progress, outputs: () => findUrls(body).map((url) => ({ url })), failure };
}

const PENDING = new Set(["pending", "running", "queued", "queueing", "preparing", "processing", "in_progress", "submitted", "waiting"]);
const SUCCEEDED = new Set(["succeeded", "success", "completed", "finished", "done"]);
const FAILED = new Set(["failed", "fail", "failure", "canceled", "cancelled", "error"]);

function classify(word: string): "pending" | "succeeded" | "failed" | "unknown" {
  const w = word.toLowerCase();
  if (PENDING.has(w)) return "pending";
  if (SUCCEEDED.has(w)) return "succeeded";
  if (FAILED.has(w)) return "failed";
  return "unknown";
}

function withExpiry(family: GatewayFamily, sources: OutputSource[], body: unknown): OutputSource[] {
  if (sources.length === 0)
    throw new Error(`succeeded task has no result URL in the places ${family} uses: ${JSON.stringify(body).slice(0, 300)}`);
  return sources.map((s) => ({ ...s, expiresAt: s.url ? urlExpiresAt(s.url) : undefined }));
}
