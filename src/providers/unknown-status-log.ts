import type { Logger } from "pino";

/**
 * Logs each unknown task status word once per provider and model: the job keeps polling
 * (an unknown word is treated as still running) and a long poll does not flood the log.
 */
export class UnknownStatusLog {
  private readonly seen = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly provider: string,
  ) {}

  note(word: string, model: string): void {
    const key = `${model}\n${word}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.log.warn({ provider: this.provider, model, status: word }, "unknown task status: treating it as still running");
  }
}
