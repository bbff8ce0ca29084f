import type { Readable } from "node:stream";

/** What a store reports about an object it holds. */
export interface StoredObject {
  key: string;
  /** `s3://bucket/key` or `file:///abs/path`. */
  url: string;
  bytes: number;
}

/** What the caller knows about an object before it streams. */
export interface PutOptions {
  /**
   * The length the source announced, when it did: lets a store reserve only that much for a
   * small object. A store may refuse a source that sends more. @defaultValue unknown
   */
  length?: number;
  /**
   * The most bytes the source can send, a limit the caller enforces: lets a store size its
   * buffers for the largest object it may get. Unlike `length`, it never comes from the source.
   * @defaultValue unknown
   */
  maxBytes?: number;
}

/**
 * Where outputs are kept. `put` consumes a stream without buffering it whole: memory stays
 * bounded whatever the object's size. Writes are all-or-nothing: a failed put leaves no
 * partial object under `key`.
 */
export interface ArchiveStore {
  /** `s3://bucket` or `file:///dir`, for logs and the demo. */
  readonly location: string;
  /** Stores the stream under `key`; `bytes` of the answer is what was streamed, counted on the way. */
  put(key: string, body: Readable, contentType: string, options?: PutOptions): Promise<StoredObject>;
  /** Small objects (manifests, JSON) written in one call; `signal` abandons it (the start-up probe's timeout). */
  putBytes(key: string, body: Buffer | string, contentType: string, options?: { signal?: AbortSignal }): Promise<StoredObject>;
  /** The object's bytes, or those from `range.start` to `range.end` (both included). */
  get(key: string, range?: ByteRange): Promise<Readable>;
  head(key: string): Promise<StoredObject | undefined>;
  /**
   * Copies the object at `from` to `to` inside the store, without streaming it through kiln
   * where the store can (S3's server-side copy; a hard link locally); undefined when `from` is
   * not there. All-or-nothing, like `put`.
   */
  copy(from: string, to: string, contentType: string): Promise<StoredObject | undefined>;
  /** Removes the object; one that is not there is no error. Only the start-up probe deletes. */
  delete(key: string, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * A URL anyone holding it may GET the object from for `ttlSeconds` (an S3 presigned URL);
   * absent where the store has no such URLs (a local directory): its bytes are served instead.
   * `signedAt` is the instant the validity counts from. @defaultValue now
   */
  presignGet?(key: string, ttlSeconds: number, contentType: string, signedAt?: Date): Promise<string>;
}

/** Bytes `start` to `end` of an object, both included (HTTP's `Range: bytes=start-end`). */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * A key the store cannot hold (one that would leave the local archive directory): the same key
 * is refused on every try, so the caller need not retry it.
 */
export class ArchiveKeyError extends Error {
  override name = "ArchiveKeyError";
  /** Structural marker: `instanceof` breaks across duplicated copies of this package. */
  readonly isArchiveKeyError = true;
}

export function isArchiveKeyError(err: unknown): err is ArchiveKeyError {
  return typeof err === "object" && err !== null && (err as { isArchiveKeyError?: unknown }).isArchiveKeyError === true;
}
