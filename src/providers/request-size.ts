import type { ModelKind } from "./model-kind.js";

/** The video length learned durations are counted against: a 10-second request is size 2. */
const REFERENCE_VIDEO_SECONDS = 5;

/**
 * How big a request is relative to a typical one, where its input says: a video's `duration`
 * (seconds, the gateway's video models) ÷ 5, an image request's `n` (image count). 1 when the
 * input does not say. The poll schedule expects a task's duration to grow in proportion.
 */
export function requestSize(kind: ModelKind, input: Record<string, unknown>): number {
  const positive = (value: unknown) => (typeof value === "number" && Number.isFinite(value) && value > 0 ? value : undefined);
  if (kind === "video") return (positive(input.duration) ?? REFERENCE_VIDEO_SECONDS) / REFERENCE_VIDEO_SECONDS;
  if (kind === "image") return positive(input.n) ?? 1;
  return 1;
}
