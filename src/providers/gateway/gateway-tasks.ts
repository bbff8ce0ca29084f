import type { TaskStatus } from "../provider.js";
import type { OutputSource } from "../output-source.js";
import { urlExpiresAt } from "../result-url.js";
import { findUrls } from "./gateway-answers.js";
import type { GatewayFamily } from "./gateway-models.js";

/**
 * Reads a task query answer. The document warns that each model answers in its own structure
 * with its own status words, so each family says where its status and outputs are, and a
 * careful generic reading covers the rest:
 * - wan (and glm-image async): `output.task_status` PENDING/RUNNING/SUCCEEDED/FAILED/CANCELED,
 *   `output.video_url` or `output.results[].url`, failure in `output.code`/`output.message`;
 * - MiniMax Hailuo: `status` Queueing/Preparing/Processing/Success/Fail, `file.download_url`;
 * - cogvideo: `task_status` PROCESSING/SUCCESS/FAIL, `video_result[].url` (+ cover image).
 */
export function readGatewayTask(family: GatewayFamily, body: unknown): TaskStatus | { state: "unknown"; providerStatus: string } {
  const b = (body ?? {}) as Record<string, any>;
  const word = String(b.output?.task_status ?? b.task_status ?? b.status ?? b.data?.status ?? b.data?.task_status ?? "");
  switch (classify(word)) {
    case "pending":
      return { state: "pending", providerStatus: word, progress: typeof b.output?.progress === "number" ? b.output.progress : undefined };
    case "succeeded":
      return { state: "succeeded", outputs: outputsOf(family, b) };
    case "failed":
      return { state: "failed", ...failureOf(b) };
    case "unknown":
      return { state: "unknown", providerStatus: word || "(none)" };
  }
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

function outputsOf(family: GatewayFamily, b: Record<string, any>): OutputSource[] {
  const sources: OutputSource[] =
    family === "cogvideo" && Array.isArray(b.video_result)
      ? b.video_result.flatMap((v: { url?: string; cover_image_url?: string }) => [
          ...(v.url ? [{ url: v.url, role: "video" }] : []),
          ...(v.cover_image_url ? [{ url: v.cover_image_url, role: "cover" }] : []),
        ])
      : findUrls(b).map((url) => ({ url }));
  if (sources.length === 0) throw new Error(`succeeded task has no result URL in the places ${family} uses: ${JSON.stringify(b).slice(0, 300)}`);
  return sources.map((s) => ({ ...s, expiresAt: s.url ? urlExpiresAt(s.url) : undefined }));
}

function failureOf(b: Record<string, any>): { code: string; message: string } {
  const message = b.output?.message ?? b.message ?? b.error?.message ?? b.base_resp?.status_msg ?? b.fail_reason ?? "the provider reported the task as failed without a reason";
  const code = b.output?.code ?? b.code ?? b.error?.code ?? b.base_resp?.status_code ?? "task_failed";
  return { code: String(code), message: String(message) };
}
