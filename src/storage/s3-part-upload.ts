import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { Readable } from "node:stream";
import type { ArchiveMemoryBudget } from "./archive-memory-budget.js";

/** Where and how one object is uploaded. */
export interface PartUploadPlan {
  client: S3Client;
  bucket: string;
  key: string;
  contentType: string;
  /** Bytes per part (S3 requires ≥ 5 MiB for every part but the last). */
  partSize: number;
  /** Parts sent at once; one more is being filled meanwhile. */
  queueSize: number;
  budget: ArchiveMemoryBudget;
  /** The object's length when the source announced it: a small object reserves only that much. */
  length?: number;
  /** The most bytes the source can send, enforced by the caller: sizes the parts. */
  maxBytes?: number;
}

/**
 * Streams `body` to S3 in parts cut from buffers of the shared budget and returns the bytes
 * stored. An object that fits in one part is one PutObject; a larger one is a multipart
 * upload, aborted on any failure so no partial object is left under the key.
 *
 * Hand-written rather than lib-storage's `Upload`: that one concatenates each part into a new
 * buffer (memory then depends on when the collector runs) and cannot share a limit across
 * uploads; here every byte in flight sits in a budget buffer that is reused part after part.
 */
export async function uploadInParts(body: Readable, given: PartUploadPlan): Promise<number> {
  const plan = { ...given, partSize: partSizeFor(given) };
  const reader = new PartReader(body);
  try {
    // memory is taken for bytes that arrived, never on a source's word: nothing until the first
    // byte is here, and no more than the announced length when that is less than a part
    if (await reader.atEnd()) return await putWhole(plan, Buffer.alloc(0));
    const firstSize = plan.length !== undefined && plan.length < plan.partSize ? Math.max(plan.length, 1) : plan.partSize;
    const first = await plan.budget.take(firstSize);
    let filled: number;
    try {
      filled = await reader.fill(first);
      if (filled < plan.partSize && !(await reader.atEnd()))
        throw new Error(`${plan.key}: the source sent more than the ${plan.length} bytes it announced`);
      if (reader.ended) await putWhole(plan, first.subarray(0, filled));
    } catch (err) {
      plan.budget.give(first);
      throw err;
    }
    if (!reader.ended) return await multipart(reader, plan, first, filled);
    plan.budget.give(first);
    return filled;
  } finally {
    reader.close();
  }
}

async function putWhole(plan: PartUploadPlan, bytes: Buffer): Promise<number> {
  await plan.client.send(
    new PutObjectCommand({ Bucket: plan.bucket, Key: plan.key, Body: bytes, ContentLength: bytes.length, ContentType: plan.contentType }),
  );
  return bytes.length;
}

/**
 * S3 allows 10,000 parts: an object that may grow large gets parts large enough. Sized from
 * the caller's own limit (`maxBytes`), never from the announced length, which a source may
 * inflate to make kiln reserve memory it will never fill.
 */
function partSizeFor(plan: PartUploadPlan): number {
  return plan.maxBytes === undefined ? plan.partSize : Math.max(plan.partSize, Math.ceil(plan.maxBytes / MAX_PARTS));
}

const MAX_PARTS = 10_000;

async function multipart(reader: PartReader, plan: PartUploadPlan, first: Buffer, firstFilled: number): Promise<number> {
  const checksummed = (await plan.client.config.requestChecksumCalculation()) === "WHEN_SUPPORTED";
  const target = { Bucket: plan.bucket, Key: plan.key };
  let created;
  try {
    created = await plan.client.send(
      new CreateMultipartUploadCommand({
        ...target,
        ContentType: plan.contentType,
        ...(checksummed && { ChecksumAlgorithm: ChecksumAlgorithm.CRC32 }),
      }),
    );
  } catch (err) {
    plan.budget.give(first);
    throw err;
  }
  const sender = new PartSender(plan, created.UploadId!);
  try {
    let buffer: Buffer | undefined = first;
    let filled = firstFilled;
    let total = 0;
    for (let partNumber = 1; buffer; partNumber++) {
      total += filled;
      await sender.send(partNumber, buffer, filled);
      // the next part's buffer only once its first byte is here: a source that stalls holds
      // the parts in flight, not a new empty one
      if (await reader.atEnd()) break;
      // waits holding only parts already sent, which end on their own: uploads waiting for
      // each other's buffers cannot deadlock
      buffer = await plan.budget.take(plan.partSize);
      filled = await reader.fill(buffer).catch((err: unknown) => sender.giveBack(buffer!, err));
    }
    const parts = await sender.all();
    await plan.client.send(
      new CompleteMultipartUploadCommand({ ...target, UploadId: created.UploadId, MultipartUpload: { Parts: parts } }),
    );
    return total;
  } catch (err) {
    await sender.settle();
    await plan.client.send(new AbortMultipartUploadCommand({ ...target, UploadId: created.UploadId })).catch(() => undefined);
    throw err;
  }
}

/** Keeps at most `queueSize` parts in flight; each part's buffer goes back to the budget when its request ends. */
class PartSender {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly done: CompletedPart[] = [];
  private failure: unknown;

  constructor(
    private readonly plan: PartUploadPlan,
    private readonly uploadId: string,
  ) {}

  /** Starts the part, then waits until fewer than `queueSize` are in flight (or one failed). */
  async send(partNumber: number, buffer: Buffer, length: number): Promise<void> {
    const request = this.plan.client.send(
      new UploadPartCommand({
        Bucket: this.plan.bucket,
        Key: this.plan.key,
        UploadId: this.uploadId,
        PartNumber: partNumber,
        Body: buffer.subarray(0, length),
        ContentLength: length,
      }),
    );
    // handled at once, so a failing part is never an unhandled rejection while the next one fills
    const settled: Promise<void> = request
      .then(
        (answer) =>
          void this.done.push({
            PartNumber: partNumber,
            ETag: answer.ETag,
            ...(answer.ChecksumCRC32 && { ChecksumCRC32: answer.ChecksumCRC32 }),
          }),
        (err: unknown) => void (this.failure ??= err),
      )
      .finally(() => {
        this.inFlight.delete(settled);
        this.plan.budget.give(buffer);
      });
    this.inFlight.add(settled);
    while (this.inFlight.size >= this.plan.queueSize && this.failure === undefined) await Promise.race(this.inFlight);
    this.throwIfFailed();
  }

  /** Every part, in order, once all have been stored. */
  async all(): Promise<CompletedPart[]> {
    await this.settle();
    this.throwIfFailed();
    return this.done.sort((a, b) => a.PartNumber! - b.PartNumber!);
  }

  async settle(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  /** Returns an unused buffer; rethrows `err` when there is one. */
  giveBack(buffer: Buffer, err: unknown): never;
  giveBack(buffer: Buffer, err: undefined): undefined;
  giveBack(buffer: Buffer, err: unknown): undefined {
    this.plan.budget.give(buffer);
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what the upload failed with, unchanged
    if (err !== undefined) throw err;
    return undefined;
  }

  private throwIfFailed(): void {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what the upload failed with, unchanged
    if (this.failure !== undefined) throw this.failure;
  }
}

/** Copies a stream's chunks into fixed buffers, one part at a time, reading only as parts are needed. */
class PartReader {
  private readonly chunks: AsyncIterator<Buffer>;
  private carry?: Buffer;
  ended = false;

  constructor(private readonly body: Readable) {
    this.chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Fills `buffer` from the stream; returns the bytes written, fewer only at the end of the stream. */
  async fill(buffer: Buffer): Promise<number> {
    let filled = 0;
    while (filled < buffer.length && (this.carry || (await this.next()))) {
      const copied = this.carry!.copy(buffer, filled);
      filled += copied;
      this.carry = copied < this.carry!.length ? this.carry!.subarray(copied) : undefined;
    }
    return filled;
  }

  /** True when nothing is left: reads ahead one chunk if needed. */
  async atEnd(): Promise<boolean> {
    return !(this.carry || (await this.next()));
  }

  /** Stops reading: an upload that failed half-way must not leave the download running. */
  close(): void {
    if (!this.ended) this.body.destroy();
  }

  private async next(): Promise<boolean> {
    if (this.ended) return false;
    const result = await this.chunks.next();
    if (result.done) this.ended = true;
    else this.carry = Buffer.isBuffer(result.value) ? result.value : Buffer.from(result.value);
    return !this.ended;
  }
}
