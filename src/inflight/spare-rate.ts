/** Each poll's reading moves the mean this far: about the last sixteen polls count. */
const WEIGHT = 1 / 16;

/**
 * How much of a provider's rate its recent polls left unused, as this process saw it: each poll
 * that took room in the window reports the share of the window still free after it, and a poll
 * refused for a full window reports none free. The mean of those readings, weighted toward the
 * latest. Every worker process reads the same window in Redis, so each gets the same picture
 * from its own polls, with no request of its own.
 */
export class SpareRate {
  private mean?: number;

  /** One poll's reading: the share of the window free after it took its room (0 when refused), 0–1. */
  observe(share: number): void {
    const clamped = Math.min(1, Math.max(0, share));
    this.mean = this.mean === undefined ? clamped : this.mean + (clamped - this.mean) * WEIGHT;
  }

  /** The share of the rate recent polls left unused, 0–1; undefined before any poll read the window. */
  share(): number | undefined {
    return this.mean;
  }
}
