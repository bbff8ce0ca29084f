/** Samples the process's resident memory every `everyMs` until stopped; reports the peak. */
export class RssSampler {
  private peak = 0;
  private timer?: NodeJS.Timeout;

  start(everyMs = 10): this {
    this.peak = process.memoryUsage().rss;
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, process.memoryUsage().rss);
    }, everyMs);
    return this;
  }

  stop(): number {
    clearInterval(this.timer);
    return Math.max(this.peak, process.memoryUsage().rss);
  }
}

/** Lets the garbage collector settle, when node runs with --expose-gc, so baselines are comparable. */
export async function settle(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage().rss;
}

export const MB = 1024 * 1024;
export const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
