import type { Readable } from "node:stream";

/** What a store reports about an object it holds. */
export interface StoredObject {
  key: string;
  /** `s3://bucket/key` or `file:///abs/path`. */
  url: string;
  bytes: number;
}

/**
 * Where outputs are kept. `put` consumes a stream without buffering it whole: memory stays
 * bounded whatever the object's size. Writes are all-or-nothing: a failed put leaves no
 * partial object under `key`.
 */
export interface ArchiveStore {
  /** `s3://bucket` or `file:///dir`, for logs and the demo. */
  readonly location: string;
  put(key: string, body: Readable, contentType: string): Promise<StoredObject>;
  /** Small objects (manifests, JSON) written in one call. */
  putBytes(key: string, body: Buffer | string, contentType: string): Promise<StoredObject>;
  get(key: string): Promise<Readable>;
  head(key: string): Promise<StoredObject | undefined>;
}
