/** `KILN_ARCHIVE_MEMORY`'s default: 8 archives of 1 GiB at once at full speed (docs/operations.md). */
export const DEFAULT_ARCHIVE_MEMORY = 192 * 1024 * 1024;

/**
 * The memory every archive upload of this process may hold in part buffers, shared by all of
 * them: a byte semaphore that hands out the buffers it accounts for. A request that does not
 * fit waits (first come, first served, so a large request is never starved by small ones);
 * nothing is allocated beyond the limit, however many archives run at once.
 *
 * Freed buffers are kept for reuse while any upload is running, so a long archive refills the
 * same few buffers instead of leaving garbage for the collector; when the last one is returned
 * the spare buffers are dropped and the memory goes back to the system.
 */
export class ArchiveMemoryBudget {
  private static shared?: ArchiveMemoryBudget;
  /** Bytes in buffers handed out or kept spare: what the limit bounds. */
  private held = 0;
  private highest = 0;
  private readonly waiting: Array<{ size: number; grant: (buffer: Buffer) => void }> = [];
  private readonly spare: Buffer[] = [];
  private inUse = 0;

  /** @param limitBytes the most part-buffer memory held at once, bytes */
  constructor(readonly limitBytes: number) {
    if (!Number.isInteger(limitBytes) || limitBytes < 1)
      throw new RangeError(`archive memory budget: must be a positive whole number of bytes, got ${limitBytes}`);
  }

  /**
   * The budget of this process, created on first use. A limit given later replaces the limit
   * for later requests (the configuration read last wins); none keeps the one in force.
   */
  static forProcess(limitBytes?: number): ArchiveMemoryBudget {
    if (!ArchiveMemoryBudget.shared) ArchiveMemoryBudget.shared = new ArchiveMemoryBudget(limitBytes ?? DEFAULT_ARCHIVE_MEMORY);
    else if (limitBytes !== undefined) ArchiveMemoryBudget.shared.resize(limitBytes);
    return ArchiveMemoryBudget.shared;
  }

  /** The process's budget if anything has asked for one (what the metrics report). */
  static current(): ArchiveMemoryBudget | undefined {
    return ArchiveMemoryBudget.shared;
  }

  /** Bytes held in part buffers now (in use or kept for reuse). */
  get heldBytes(): number {
    return this.held;
  }

  /** The most bytes held at once since construction. */
  get peakBytes(): number {
    return this.highest;
  }

  /** Archives waiting for memory now. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** A buffer of exactly `size` bytes, once the budget has room for it. Give it back with `give`. */
  take(size: number): Promise<Buffer> {
    if (size > this.limitBytes)
      return Promise.reject(
        new RangeError(`archive memory budget: a ${size}-byte part cannot fit in a budget of ${this.limitBytes} bytes`),
      );
    const buffer = this.waiting.length === 0 ? this.tryTake(size) : undefined;
    if (buffer) return Promise.resolve(buffer);
    return new Promise((grant) => this.waiting.push({ size, grant }));
  }

  /** Returns a buffer from `take`; its contents may be overwritten at once. */
  give(buffer: Buffer): void {
    this.inUse -= 1;
    // only part-sized buffers are worth keeping; a small output's buffer goes straight back
    if (buffer.length >= REUSE_FROM_BYTES && this.inUse > 0) this.spare.push(buffer);
    else this.held -= buffer.length;
    this.grantWaiting();
    if (this.inUse === 0 && this.waiting.length === 0) this.dropSpare(Infinity);
  }

  private resize(limitBytes: number): void {
    if (limitBytes === this.limitBytes) return;
    (this as { limitBytes: number }).limitBytes = limitBytes;
    this.grantWaiting();
  }

  /** A reused spare of that size, or a new buffer if it fits (dropping other spares to make room). */
  private tryTake(size: number): Buffer | undefined {
    const at = this.spare.findIndex((b) => b.length === size);
    if (at >= 0) {
      this.inUse += 1;
      return this.spare.splice(at, 1)[0];
    }
    this.dropSpare(this.held + size - this.limitBytes);
    if (this.held + size > this.limitBytes) return undefined;
    this.held += size;
    this.highest = Math.max(this.highest, this.held);
    this.inUse += 1;
    return Buffer.allocUnsafeSlow(size);
  }

  // in order: the head of the queue goes first even when a smaller request behind it would fit
  private grantWaiting(): void {
    for (let next = this.waiting[0]; next; next = this.waiting[0]) {
      const buffer = this.tryTake(next.size);
      if (!buffer) return;
      this.waiting.shift();
      next.grant(buffer);
    }
  }

  /** Forgets spare buffers until `bytes` are freed (the collector returns them to the system). */
  private dropSpare(bytes: number): void {
    let freed = 0;
    while (freed < bytes && this.spare.length > 0) {
      const dropped = this.spare.pop()!;
      freed += dropped.length;
      this.held -= dropped.length;
    }
  }
}

/** Buffers this large are kept for the next part; smaller ones are left to the collector. */
const REUSE_FROM_BYTES = 1024 * 1024;
