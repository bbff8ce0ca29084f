import { z } from "zod";
import type { TaskStatus } from "../provider.js";
import type { OutputSource } from "../output-source.js";
import { issuesOf } from "../answer-shape.js";
import { ProviderError } from "../provider-error.js";
import { urlExpiresAt } from "../result-url.js";
import { findUrls, lenient } from "./gateway-answers.js";
import type { GatewayFamily } from "./gateway-models.js";

/** Status words and codes come as strings, sometimes as numbers. */
const Word = z.union([z.string(), z.number()]).transform(String);

/** A result URL: only http(s) is ever downloaded. */
const ResultUrl = z.string().regex(/^https?:\/\//, { message: "expected an http(s) URL" });

/**
 * The one query answer the gateway document's task query examples (7.6) show, for videos and
 * images alike (and wan's own, and glm-image's async one):
 * everything under `output`, a video URL or a list of results, failure in `code`/`message`.
 */
const DocumentedTask = z.looseObject({
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

/** One query answer, read into what the state machine needs. */
interface TaskAnswer {
  word: string;
  progress?: number;
  outputs: OutputSource[];
  failure: { code?: string; message?: string };
}

/** Which reading understood a task answer: logged at debug, so an operator sees a model change its answers. */
type TaskReader = "native" | "documented" | "generic";

/** A task answer as one reading understood it. */
export interface TaskReading {
  reader: TaskReader;
  status: TaskStatus | { state: "unknown"; providerStatus: string };
}

type Read = (body: unknown) => TaskAnswer;

/**
 * Reads a task query answer. The document warns that each model answers in its own structure
 * with its own status words and shows one structure only, so an answer is read by its family's
 * own shape, then by the documented one, then by the careful generic reading:
 * - documented (wan, glm-image async): `output.task_status` PENDING/RUNNING/SUCCEEDED/FAILED/
 *   CANCELED, `output.video_url` or `output.results[].url`, failure in `output.code`/`message`;
 * - MiniMax Hailuo: `status` Queueing/Preparing/Processing/Success/Fail, `file.download_url`;
 * - cogvideo: `task_status` PROCESSING/SUCCESS/FAIL, `video_result[].url` (+ cover image);
 * - generic: a status word and result URLs wherever any family puts them.
 * The first reading that finds a known status word wins; an answer whose only readings find an
 * unknown word is `unknown` (still running, logged). An answer no reading understands is a
 * `bad_response` that names why each reading failed and carries the answer.
 */
export function readGatewayTask(family: GatewayFamily, body: unknown): TaskReading {
  const problems: string[] = [];
  let unknown: TaskReading | undefined;
  for (const [reader, read] of readersOf(family)) {
    try {
      const status = statusOf(read(body));
      if (status.state !== "unknown") return { reader, status };
      unknown ??= { reader, status };
    } catch (err) {
      problems.push(`${reader}: ${(err as Error).message}`);
    }
  }
  if (unknown) return unknown;
  throw new ProviderError("bad_response", `${family} task answer matched no reading (${problems.join("; ")})`, { answer: body });
}

/** The readings tried for a family, in order. wan's and glm-image's own shape is the documented one. */
function readersOf(family: GatewayFamily): Array<[TaskReader, Read]> {
  switch (family) {
    case "minimax-video":
      return [
        ["native", readMinimax],
        ["documented", readDocumented],
        ["generic", readGeneric],
      ];
    case "cogvideo":
      return [
        ["native", readCog],
        ["documented", readDocumented],
        ["generic", readGeneric],
      ];
    default:
      return [
        ["documented", readDocumented],
        ["generic", readGeneric],
      ];
  }
}

function statusOf(answer: TaskAnswer): TaskReading["status"] {
  switch (classify(answer.word)) {
    case "pending":
      return { state: "pending", providerStatus: answer.word, progress: answer.progress };
    case "succeeded":
      return { state: "succeeded", outputs: withExpiry(answer.outputs) };
    case "failed":
      return {
        state: "failed",
        code: answer.failure.code ?? "task_failed",
        message: answer.failure.message ?? "the provider reported the task as failed without a reason",
      };
    case "unknown":
      return { state: "unknown", providerStatus: answer.word };
  }
}

/** `value` in `schema`'s shape, else an error naming the fields that differ. */
function shaped<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(issuesOf(parsed.error));
  return parsed.data;
}

function readDocumented(body: unknown): TaskAnswer {
  const { output } = shaped(DocumentedTask, body);
  const urls = [...(output.video_url ? [output.video_url] : []), ...(output.results ?? []).map((r) => r.url)];
  return {
    word: output.task_status,
    progress: output.progress,
    outputs: urls.map((url) => ({ url })),
    failure: { code: output.code, message: output.message },
  };
}

function readMinimax(body: unknown): TaskAnswer {
  const answer = shaped(MinimaxTask, body);
  const url = answer.file?.download_url;
  return { word: answer.status, outputs: url ? [{ url }] : [], failure: { message: answer.fail_reason } };
}

function readCog(body: unknown): TaskAnswer {
  const answer = shaped(CogTask, body);
  const outputs = (answer.video_result ?? []).flatMap((v) => [
    ...(v.url ? [{ url: v.url, role: "video" }] : []),
    ...(v.cover_image_url ? [{ url: v.cover_image_url, role: "cover" }] : []),
  ]);
  return { word: answer.task_status, outputs, failure: { code: answer.error?.code, message: answer.error?.message } };
}

/** Understands an answer only when it finds a status word: an answer without one says nothing of the task. */
function readGeneric(body: unknown): TaskAnswer {
  const b = GenericTask.parse(body);
  const word = b.output?.task_status ?? b.task_status ?? b.status ?? b.data?.status ?? b.data?.task_status;
  if (!word) throw new Error("no status word in output.task_status, task_status, status, data.status or data.task_status");
  // MiniMax's base_resp says "success" (code 0) about the query itself, even for a failed task
  const resp = b.base_resp?.status_code === "0" ? undefined : b.base_resp;
  const failure = {
    code: b.output?.code ?? b.code ?? b.error?.code ?? resp?.status_code,
    message: b.output?.message ?? b.message ?? b.error?.message ?? b.fail_reason ?? resp?.status_msg,
  };
  return { word, progress: b.output?.progress, outputs: findUrls(body).map((url) => ({ url })), failure };
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

function withExpiry(sources: OutputSource[]): OutputSource[] {
  if (sources.length === 0) throw new Error("succeeded task has no result URL");
  return sources.map((s) => ({ ...s, expiresAt: s.url ? urlExpiresAt(s.url) : undefined }));
}
