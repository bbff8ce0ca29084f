import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

/** A pass-through that counts bytes and computes sha256 of everything that flows through it. */
export class HashingStream extends Transform {
  private readonly hash = createHash("sha256");
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  /** The hex digest; call once, after the stream has ended. */
  digest(): string {
    return this.hash.digest("hex");
  }
}
