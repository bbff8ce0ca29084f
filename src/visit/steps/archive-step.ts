import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ArchivedOutput } from "../../contract/generation-result.js";
import type { OutputSource } from "../../providers/output-source.js";
import { HashingStream } from "../../storage/hashing-stream.js";
import { redactUrl } from "../../util/redact-url.js";
import { contradictsKind, mediaTypeOf } from "../../storage/media-types.js";
import { discard, tooLarge, type OpenedOutput } from "../../storage/output-fetcher.js";
import { ArchiveError } from "../../storage/archive-error.js";
import { isArchiveKeyError } from "../../storage/archive-store.js";
import type { StoredObject } from "../../storage/archive-store.js";
import { findModel } from "../../providers/model-registry.js";
import { ProviderError } from "../../providers/provider-error.js";
import { outcomeOfError } from "./error-outcome.js";
import type { ArchiveState } from "../../state/job-state.js";
import type { ArchiveContext } from "./step-context.js";
import type { StepOutcome } from "./step-outcome.js";

/**
 * Streams each output into the archive store, hashing on the way, and records each one as
 * soon as it is stored (the last one in the `notify` state the worker writes next, before the
 * webhook): a re-run skips recorded outputs, and an unrecorded one is written again under the
 * same key with the same bytes.
 */
export async function archiveStep(state: ArchiveState, ctx: ArchiveContext): Promise<StepOutcome> {
  const sources = state.sources;
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

async function archiveOne(index: number, source: OutputSource, ctx: ArchiveContext): Promise<ArchivedOutput> {
  const limits = ctx.outputLimits;
  const opened = await ctx.fetcher.open(source, limits);
  let type, key;
  try {
    refuseContradiction(index, source, opened, ctx);
    type = mediaTypeOf(source.ext, source.contentType ?? opened.contentType, source.url);
    key = archiveKey(ctx, index, type.ext);
  } catch (err) {
    discard(opened.body);
    throw err;
  }
  const hasher = new HashingStream(limits.maxBytes, (bytes) => tooLarge(limits, `${index} sent at least ${bytes} bytes`));
  const stored = await streamToStore(opened, hasher, (body) =>
    ctx.store.put(key, body, type.contentType, { length: opened.length, maxBytes: limits.maxBytes }),
  );
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
 * Streams the download through `hasher` into the store. Every stream has an error listener
 * for as long as it can fail (`pipeline`), whichever side gives up first and at whatever
 * moment: a download that fails reaches the store as an error (never as a short file), and a
 * store that fails, even before reading a byte, ends the download. Both sides have settled
 * when this returns; the download's own failure is the one reported, being the cause.
 */
export async function streamToStore(opened: OpenedOutput, hasher: HashingStream, put: (body: Readable) => Promise<StoredObject>) {
  const stop = new AbortController();
  const download = pipeline(opened.body, hasher, { signal: stop.signal });
  // a put that threw instead of rejecting must still leave the download awaited below
  const upload = Promise.resolve().then(() => put(hasher));
  // a store that gave up stops the download; one that succeeded has read it to its end
  upload.catch(() => stop.abort());
  const [read, stored] = await Promise.allSettled([download, upload]);
  if (read.status === "rejected" && !endedByStore(read.reason)) throw read.reason;
  if (stored.status === "rejected") throw storeError(stored.reason);
  if (read.status === "rejected") throw read.reason;
  return stored.value;
}

/** The download was ended from the store's side: stopped above, or its reader closed early. */
function endedByStore(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === "ABORT_ERR" || code === "ERR_STREAM_PREMATURE_CLOSE";
}

/** A key the store refuses is refused on every retry: final. Other store errors are transient. */
function storeError(err: unknown): unknown {
  if (isArchiveKeyError(err)) return new ArchiveError(err.message, { cause: err });
  return err;
}

/**
 * An output whose type contradicts its model's kind (HTML or SVG from an image model) is not
 * the output: refused as `bad_response`, final, before a byte is stored. A pass-through model's
 * kind is kiln's guess, so its outputs are taken as they come.
 */
function refuseContradiction(index: number, source: OutputSource, opened: OpenedOutput, ctx: ArchiveContext): void {
  if (ctx.request.passthrough && !findModel(ctx.request.provider, ctx.request.model)) return;
  for (const declared of [source.contentType, opened.contentType]) {
    if (contradictsKind(ctx.model.kind, declared))
      throw new ProviderError("bad_response", `output ${index} is ${declared}, which contradicts the model's kind (${ctx.model.kind})`, {
        retryable: false,
      });
  }
}

/**
 * `<prefix>/<provider>/<yyyy-mm-dd>/<jobId>/<index>.<ext>`, dated by enqueue time so every
 * re-run of the job writes the same keys. The job id is made path-safe.
 */
export function archiveKey(ctx: Pick<ArchiveContext, "request" | "jobId" | "enqueuedAt">, index: number, ext: string): string {
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
