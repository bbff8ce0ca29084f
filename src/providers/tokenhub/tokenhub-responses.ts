import { z } from "zod";
import type { TaskStatus } from "../provider.js";
import type { OutputSource } from "../output-source.js";
import type { ProviderErrorKind } from "../provider-error.js";
import { urlExpiresAt } from "../result-url.js";
import { OpenAiErrorBody } from "../answer-shape.js";

/** Ids look numeric ("1429890795996585984") and exceed 2^53: keep them as strings. */
const TaskId = z.union([z.string().min(1), z.number()]).transform(String);

/** Submit answer (image, video, 3d): `{ id, request_id, object, created_at, status: "queued" }`. */
export const TokenHubSubmitted = z.looseObject({ id: TaskId, status: z.string().optional() });

const UrlItem = z.looseObject({ url: z.string().min(1) });
const ModelItem = z.looseObject({ type: z.string().optional(), url: z.string().min(1), preview_image_url: z.string().min(1).optional() });

/**
 * Query answer. `data` differs per family: images `[{url, revised_prompt}]`, video `{url}`
 * (an object), 3D `[{type, url, preview_image_url}]`. The guide does not show a failed answer,
 * so its reason is read from the places OpenAI-style APIs use.
 */
export const TokenHubQueried = z.looseObject({
  status: z.string(),
  progress: z.number().optional(),
  expires_at: z.union([z.number(), z.string()]).optional(),
  data: z.unknown().optional(),
  error: z
    .union([z.string(), z.looseObject({ message: z.string().optional(), code: z.union([z.string(), z.number()]).optional() })])
    .optional(),
  message: z.string().optional(),
  fail_reason: z.string().optional(),
});
export type TokenHubQueried = z.infer<typeof TokenHubQueried>;

/** Synchronous HY-Image-Lite answer: `{ created, request_id, data: [{ url }] }`. */
export const TokenHubLiteAnswer = z.looseObject({ data: z.array(UrlItem).min(1) });

/** Maps TokenHub's status words; anything unknown is still running (the caller logs it once). */
export function readTaskStatus(
  answer: TokenHubQueried,
  family: "image" | "video" | "3d",
): TaskStatus | { state: "unknown"; providerStatus: string } {
  switch (answer.status) {
    case "queued":
    case "in_progress":
      return { state: "pending", providerStatus: answer.status, progress: answer.progress };
    case "completed":
      return { state: "succeeded", outputs: readOutputs(answer, family) };
    case "failed":
      return { state: "failed", ...failureOf(answer) };
    default:
      return { state: "unknown", providerStatus: answer.status };
  }
}

function readOutputs(answer: TokenHubQueried, family: "image" | "video" | "3d"): OutputSource[] {
  const expiresAt = absoluteTime(answer.expires_at);
  const items = Array.isArray(answer.data) ? answer.data : answer.data ? [answer.data] : [];
  const outputs = family === "3d" ? items.flatMap(modelOutputs) : items.map((item) => ({ url: UrlItem.parse(item).url }));
  if (outputs.length === 0) throw new Error(`completed task has no outputs in data: ${JSON.stringify(answer.data)}`);
  return outputs.map((o) => ({ ...o, expiresAt: expiresAt ?? urlExpiresAt(o.url) }));
}

/** A 3D result is a model file and its preview image, per format: archive all of them. */
function modelOutputs(item: unknown): Array<OutputSource & { url: string }> {
  const m = ModelItem.parse(item);
  const model = { url: m.url, ext: m.type?.toLowerCase(), role: "model" };
  return m.preview_image_url ? [model, { url: m.preview_image_url, role: "preview" }] : [model];
}

function failureOf(answer: TokenHubQueried): { code: string; message: string } {
  const err = answer.error;
  const message =
    (typeof err === "string" ? err : err?.message) ??
    answer.fail_reason ??
    answer.message ??
    "the provider reported the task as failed without a reason";
  const code = typeof err === "object" && err?.code !== undefined ? String(err.code) : "task_failed";
  return { code, message };
}

function absoluteTime(value: number | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  // epoch numbers may come as strings; seconds and milliseconds are told apart by size
  const numeric = typeof value === "number" ? value : /^\d+$/.test(value) ? Number(value) : undefined;
  const ms = numeric !== undefined ? (numeric < 1e12 ? numeric * 1000 : numeric) : Date.parse(String(value));
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** TokenHub's error table (HTTP status, error code) as kiln's error kinds. */
const ERROR_CODES: Record<string, ProviderErrorKind> = {
  invalid_request_error: "invalid_request",
  authentication_error: "authentication",
  model_not_available: "model_not_available",
  rate_limit_exceeded: "rate_limited",
  engine_server_error: "server",
  service_unavailable: "server",
};

/** Reads `{"error": {"message", "type", "code"}}` (OpenAI-compatible) into a kind and message. */
export function readTokenHubError(_status: number, body: unknown): { kind?: ProviderErrorKind; code?: string; message?: string } {
  const parsed = OpenAiErrorBody.safeParse(body);
  if (!parsed.success) return {};
  const { type, code, message } = parsed.data.error;
  const known = [type, code]
    .map((c) => (c === undefined || c === null ? undefined : String(c)))
    .find((c) => c !== undefined && Object.hasOwn(ERROR_CODES, c));
  return {
    kind: known ? ERROR_CODES[known] : undefined,
    code: known ?? (code === undefined || code === null ? (type ?? undefined) : String(code)),
    message,
  };
}
