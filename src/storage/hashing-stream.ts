import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

/**
 * A pass-through that counts bytes and computes sha256 of everything that flows through it.
 * With `maxBytes`, a chunk that would take the count past it fails the stream with
 * `tooLarge()` instead: what is counted is what was really read, whatever the source announced.
 */
export class HashingStream extends Transform {
  private readonly hash = createHash("sha256");
  bytes = 0;

  constructor(
    private readonly maxBytes = Infinity,
    private readonly tooLarge: (bytes: number) => Error = (bytes) => new RangeError(`more than ${maxBytes} bytes (${bytes})`),
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.bytes + chunk.length > this.maxBytes) return callback(this.tooLarge(this.bytes + chunk.length));
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  /** The hex digest; call once, after the stream has ended. */
  digest(): string {
    return this.hash.digest("hex");
  }
}
