import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { Readable } from "node:stream";
import { ArchiveMemoryBudget } from "./archive-memory-budget.js";
import type { ArchiveStore, ByteRange, PutOptions, StoredObject } from "./archive-store.js";
import { uploadInParts } from "./s3-part-upload.js";

const MiB = 1024 * 1024;

export interface S3StoreOptions {
  bucket: string;
  region: string;
  /** For MinIO, R2, Ceph, moto; unset for AWS. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Path-style addressing (`endpoint/bucket/key`), which MinIO and most self-hosted stores need. @defaultValue false */
  forcePathStyle?: boolean;
  /**
   * `when_supported` (the SDK's default) adds CRC checksums to every upload; `when_required`
   * only where S3 demands one, for stores that reject or mangle the SDK's newer checksum
   * headers. @defaultValue "when_supported"
   */
  checksums?: "when_supported" | "when_required";
  /**
   * Multipart part size in bytes (5 MiB to 5 GiB): an upload holds at most
   * partSize × (queueSize + 1) of memory, the parts in flight and the one being filled. An
   * output whose `maxBytes` needs more than S3's 10,000 parts gets larger parts.
   * @defaultValue 5 MiB
   */
  partSize?: number;
  /** Parts sent in parallel per object (1 to 16). @defaultValue 4 */
  queueSize?: number;
  /**
   * Part buffers of every upload come out of this budget, so concurrent archives wait for
   * memory rather than add up. @defaultValue the process's budget (`ArchiveMemoryBudget.forProcess()`)
   */
  budget?: ArchiveMemoryBudget;
}

/** The defaults of S3StoreOptions, applied in one place. */
// 5 MiB × (4 + 1) is the memory of 8 MiB × (2 + 1) with twice the requests in flight, which is
// what hides a real S3's per-request latency
export const S3_STORE_DEFAULTS = { partSize: 5 * MiB, queueSize: 4 } as const;

/** Archive store on any S3-compatible service, streaming through multipart uploads. */
/** The largest object one CopyObject call copies. */
const COPY_OBJECT_MAX_BYTES = 5 * 1024 * MiB;

export class S3ArchiveStore implements ArchiveStore {
  readonly client: S3Client;
  readonly location: string;

  private readonly partSize: number;
  private readonly queueSize: number;
  readonly budget: ArchiveMemoryBudget;

  constructor(private readonly options: S3StoreOptions) {
    this.partSize = options.partSize ?? S3_STORE_DEFAULTS.partSize;
    this.queueSize = options.queueSize ?? S3_STORE_DEFAULTS.queueSize;
    if (!Number.isInteger(this.partSize) || this.partSize < 5 * MiB || this.partSize > 5 * 1024 * MiB)
      throw new RangeError(`partSize: must be a whole number of bytes from 5 MiB to 5 GiB, got ${this.partSize}`);
    if (!Number.isInteger(this.queueSize) || this.queueSize < 1 || this.queueSize > 16)
      throw new RangeError(`queueSize: must be a whole number from 1 to 16, got ${this.queueSize}`);
    this.budget = options.budget ?? ArchiveMemoryBudget.forProcess();
    if (this.budget.limitBytes < this.partSize)
      throw new RangeError(`budget: ${this.budget.limitBytes} bytes cannot hold one ${this.partSize}-byte part`);
    const checksums = options.checksums === "when_required" ? "WHEN_REQUIRED" : "WHEN_SUPPORTED";
    const config: S3ClientConfig = {
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle ?? false,
      credentials: options.credentials,
      requestChecksumCalculation: checksums,
      responseChecksumValidation: checksums,
    };
    this.client = new S3Client(config);
    this.location = `s3://${options.bucket}`;
  }

  async put(key: string, body: Readable, contentType: string, options: PutOptions = {}): Promise<StoredObject> {
    // the bytes are counted while they stream: no HeadObject afterwards
    const bytes = await uploadInParts(body, {
      client: this.client,
      bucket: this.options.bucket,
      key,
      contentType,
      partSize: this.partSize,
      queueSize: this.queueSize,
      budget: this.budget,
      length: options.length,
      maxBytes: options.maxBytes,
    });
    return { key, url: this.urlOf(key), bytes };
  }

  async putBytes(key: string, body: Buffer | string, contentType: string, options: { signal?: AbortSignal } = {}): Promise<StoredObject> {
    await this.client.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: body, ContentType: contentType }), {
      abortSignal: options.signal,
    });
    return { key, url: this.urlOf(key), bytes: Buffer.byteLength(body) };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const Range = range ? `bytes=${range.start}-${range.end}` : undefined;
    const answer = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key, Range }));
    return answer.Body as Readable;
  }

  /** A presigned GET, signed with the store's credentials; the object is served with `contentType`. */
  async presignGet(key: string, ttlSeconds: number, contentType: string, signedAt?: Date): Promise<string> {
    const command = new GetObjectCommand({ Bucket: this.options.bucket, Key: key, ResponseContentType: contentType });
    return getSignedUrl(this.client, command, { expiresIn: ttlSeconds, signingDate: signedAt });
  }

  async delete(key: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }), { abortSignal: options.signal });
  }

  /**
   * A server-side CopyObject: the bytes never leave the store. An object above CopyObject's
   * 5 GiB limit is streamed through instead (get, then a multipart put).
   */
  async copy(from: string, to: string, contentType: string): Promise<StoredObject | undefined> {
    const source = await this.head(from);
    if (!source) return undefined;
    if (source.bytes > COPY_OBJECT_MAX_BYTES) return this.put(to, await this.get(from), contentType, { length: source.bytes });
    const CopySource = `${this.options.bucket}/${from.split("/").map(encodeURIComponent).join("/")}`;
    await this.client.send(
      new CopyObjectCommand({ Bucket: this.options.bucket, Key: to, CopySource, ContentType: contentType, MetadataDirective: "REPLACE" }),
    );
    return { key: to, url: this.urlOf(to), bytes: source.bytes };
  }

  async head(key: string): Promise<StoredObject | undefined> {
    try {
      const answer = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return { key, url: this.urlOf(key), bytes: answer.ContentLength ?? 0 };
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
      throw err;
    }
  }

  private urlOf(key: string): string {
    return `s3://${this.options.bucket}/${key}`;
  }
}
