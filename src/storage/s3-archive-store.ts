import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { Readable } from "node:stream";
import type { ArchiveStore, StoredObject } from "./archive-store.js";

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
  /** Multipart part size in bytes: memory per upload is about partSize × queueSize. @defaultValue 8 MiB */
  partSize?: number;
  /** Parts uploaded in parallel per object. @defaultValue 2 */
  queueSize?: number;
}

/** Archive store on any S3-compatible service, streaming through multipart uploads. */
export class S3ArchiveStore implements ArchiveStore {
  readonly client: S3Client;
  readonly location: string;

  constructor(private readonly options: S3StoreOptions) {
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

  async put(key: string, body: Readable, contentType: string): Promise<StoredObject> {
    // lib-storage buffers at most queueSize parts and aborts the multipart upload on failure,
    // so a failed put leaves no object under `key`.
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.options.bucket, Key: key, Body: body, ContentType: contentType },
      partSize: this.options.partSize ?? 8 * 1024 * 1024,
      queueSize: this.options.queueSize ?? 2,
      leavePartsOnError: false,
    });
    await upload.done();
    const stored = await this.head(key);
    if (!stored) throw new Error(`s3://${this.options.bucket}/${key} is missing right after its upload`);
    return stored;
  }

  async putBytes(key: string, body: Buffer | string, contentType: string): Promise<StoredObject> {
    await this.client.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: body, ContentType: contentType }));
    return { key, url: this.urlOf(key), bytes: Buffer.byteLength(body) };
  }

  async get(key: string): Promise<Readable> {
    const answer = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
    return answer.Body as Readable;
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
