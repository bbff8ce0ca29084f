import { createHash } from "node:crypto";
import type { ArchivedOutput } from "../contract/generation-result.js";
import type { OutputSource } from "../providers/output-source.js";
import { HashingStream } from "../storage/hashing-stream.js";
import { redactUrl } from "../util/redact-url.js";
import { mediaTypeOf } from "./media-types.js";
import { outcomeOfError } from "./error-outcome.js";
import type { JobState } from "../contract/job-state.js";
import type { StepContext } from "./step-context.js";
import type { StepOutcome } from "./step-outcome.js";

/**
 * Streams each output into the archive store, hashing on the way, and records each one as
 * soon as it is stored (the last one in the `notify` state the worker writes next, before the
 * webhook): a re-run skips recorded outputs, and an unrecorded one is written again under the
 * same key with the same bytes.
 */
export async function archiveStep(state: JobState, ctx: StepContext): Promise<StepOutcome> {
  const sources = state.sources ?? [];
  let current = state;
  for (const [index, source] of sources.entries()) {
    if (current.archived.some((a) => a.index === index)) continue;
    try {
      const output = await archiveOne(index, source, ctx);
      current = { ...current, errors: 0, archived: [...current.archived, output] };
      // the last one is recorded by the write of the notify step that follows at once (one write less per job)
      if (index < sources.length - 1) await ctx.persist(current);
    } catch (err) {
      return outcomeOfError(err, current, ctx);
    }
  }
  return { type: "next", state: { ...current, step: "notify", archivedAt: ctx.now() } };
}

async function archiveOne(index: number, source: OutputSource, ctx: StepContext): Promise<ArchivedOutput> {
  const opened = await ctx.fetcher.open(source);
  const type = mediaTypeOf(source.ext, source.contentType ?? opened.contentType, source.url);
  const key = archiveKey(ctx, index, type.ext);
  const hasher = new HashingStream();
  // the download's errors must reach the store's reader, or a broken download looks like a short file
  opened.body.once("error", (err) => hasher.destroy(err));
  let stored;
  try {
    stored = await ctx.store.put(key, opened.body.pipe(hasher), type.contentType, { length: opened.length });
  } finally {
    // a put that gave up early must not leave the download's connection open
    if (!opened.body.readableEnded) opened.body.destroy();
  }
  if (stored.bytes !== hasher.bytes)
    throw new Error(`output ${index}: the store holds ${stored.bytes} bytes of the ${hasher.bytes} hashed`);
  if (opened.length !== undefined && hasher.bytes !== opened.length) {
    throw new Error(`output ${index}: received ${hasher.bytes} bytes of ${opened.length} announced`);
  }
  // debug: the job's one info line is "completed", with every key
  ctx.log.debug({ jobId: ctx.jobId, index, key, bytes: hasher.bytes }, "archived output");
  return {
    index,
    key,
    url: stored.url,
    contentType: type.contentType,
    bytes: hasher.bytes,
    sha256: hasher.digest(),
    sourceUrl: source.url ? redactUrl(source.url) : undefined,
    sourceExpiresAt: source.expiresAt,
    role: source.role,
  };
}

/**
 * `<prefix>/<provider>/<yyyy-mm-dd>/<jobId>/<index>.<ext>`, dated by enqueue time so every
 * re-run of the job writes the same keys. The job id is made path-safe.
 */
export function archiveKey(ctx: Pick<StepContext, "request" | "jobId" | "enqueuedAt">, index: number, ext: string): string {
  const prefix = (ctx.request.archive?.prefix ?? "kiln").replace(/^\/+|\/+$/g, "");
  const date = new Date(ctx.enqueuedAt).toISOString().slice(0, 10);
  return `${prefix}/${ctx.request.provider}/${date}/${pathSafe(ctx.jobId)}/${index}.${ext}`;
}

/** The id itself when it is path-safe; otherwise a cleaned copy plus a hash, so two ids never share a folder. */
function pathSafe(id: string): string {
  if (/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/.test(id)) return id;
  const cleaned = id
    .replace(/[^A-Za-z0-9_.-]/g, "_")
    .replace(/^\.+/, "_")
    .slice(0, 100);
  return `${cleaned}-${createHash("sha256").update(id).digest("hex").slice(0, 12)}`;
}
