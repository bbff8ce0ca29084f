import { performance, type EventLoopUtilization } from "node:perf_hooks";

/** A job that becomes active this much after it was due is late. */
export const LATE_AFTER_MS = 200;
/** The share of the last quarter second the event loop spent running code, past which the process is bound by its CPU. */
export const BUSY_SHARE = 0.9;
/** At most one cut of the limit per this long, so that one burst of late jobs counts once. */
const CUT_EVERY_MS = 250;
/** After a cut and its 250 ms, the limit grows back by one per this long. */
const RAISE_EVERY_MS = 50;
/** Due times kept for jobs this worker delayed; beyond it the oldest are forgotten (another worker took them). */
const MAX_TRACKED = 50_000;

/**
 * Whether a job whose BullMQ progress is `progress` (where kiln keeps its state) goes through the
 * pacer: one kiln has not submitted yet (no state, a retried job's `{ run }`, or a state still at
 * the submit step), unless it was waiting in line for an in-flight slot or the provider's rate
 * (`waitingSince`): that one has waited its turn already, and may hold a slot handed to it.
 */
export function pacedAsSubmit(progress: unknown): boolean {
  if (typeof progress !== "object" || progress === null) return true;
  const { step, waitingSince } = progress as { step?: unknown; waitingSince?: unknown };
  return (step === undefined || step === "submit") && waitingSince === undefined;
}

/**
 * Keeps the jobs that come back from the delayed set (polls, mostly) on time while new jobs
 * flood a process bound by its CPU. BullMQ already hands a free slot to a due job before a new
 * one, but a process that submits a bulk as fast as its CPU allows brings, a moment later, a
 * poll for each submit: a poll is a dearer visit than a submit (it downloads, archives and
 * finishes the job), so the polls come due faster than the process runs them, and queue.
 *
 * The pacer watches how late the jobs it delayed start again, and limits the submits running at
 * once: halved when one starts more than 200 ms late while the event loop was busy at least 90%
 * of the last quarter second (at most once per 250 ms, down to 1), then one more every 50 ms,
 * back up to the worker's concurrency. Late jobs in a process that is not busy (its slots held
 * by slow HTTP calls, a provider's 429 pause, a Redis outage) cut nothing: holding submits back
 * would not give their CPU to polls, there is none to give.
 *
 * A submit waiting for its turn holds its BullMQ slot but no CPU; the next free slot still goes
 * to a due job first. Once the worker closes, waiting submits are turned away (`take` answers
 * false) rather than started: the caller puts their jobs back for another worker.
 */
export class SubmitPacer {
  /** The limit the last cut set. */
  private cutTo: number;
  private lastCut = Number.NEGATIVE_INFINITY;
  private running = 0;
  private closed = false;
  private readonly waiting: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly dueAt = new Map<string, number>();
  private readonly now: () => number;
  /** How busy the event loop was of late, 0 to 1 (`EventLoopLoad`); absent, nothing is paced. */
  private readonly busy: (() => number) | undefined;

  /**
   * `busy`: the share of the recent past the process's event loop was busy, 0 to 1
   * (`EventLoopLoad.busy`). Without it (`KILN_SUBMIT_PACING=off`) every submit runs at once, always.
   */
  constructor(
    private readonly max: number,
    { now = Date.now, busy }: { now?: () => number; busy?: () => number } = {},
  ) {
    this.cutTo = max;
    this.now = now;
    this.busy = busy;
  }

  /** Submits allowed to run at once now. */
  get allowed(): number {
    const since = this.now() - this.lastCut - CUT_EVERY_MS;
    return Math.min(this.max, this.cutTo + Math.floor(Math.max(0, since) / RAISE_EVERY_MS));
  }

  /** Job `jobId` left for the delayed set, due at `at` (ms). */
  delayed(jobId: string, at: number): void {
    if (!this.busy) return;
    this.dueAt.delete(jobId);
    this.dueAt.set(jobId, at);
    if (this.dueAt.size > MAX_TRACKED) this.dueAt.delete(this.dueAt.keys().next().value!);
  }

  /** Job `jobId` became active: one back from the delayed set late, in a busy process, cuts the limit. */
  started(jobId: string): void {
    const due = this.dueAt.get(jobId);
    if (due === undefined) return;
    this.dueAt.delete(jobId);
    if (this.now() - due > LATE_AFTER_MS && this.busy!() >= BUSY_SHARE) this.cut();
  }

  /**
   * Waits until fewer submits than the limit run, and counts this one in: true. False once the
   * pacer is closed (the submit must not start). Each true is paired with a `release()`.
   */
  async take(): Promise<boolean> {
    if (!this.busy) return !this.closed;
    while (!this.closed && this.running >= this.allowed) await this.turn();
    if (this.closed) return false;
    this.running++;
    return true;
  }

  /** A submit counted in by `take` has ended. */
  release(): void {
    if (!this.busy) return;
    this.running--;
    this.wake();
  }

  /** Turns away every submit waiting for its turn, and every later one. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting.splice(0).forEach((wake) => wake());
  }

  private cut(): void {
    const now = this.now();
    if (now - this.lastCut < CUT_EVERY_MS) return;
    this.cutTo = Math.max(1, Math.floor(this.allowed / 2));
    this.lastCut = now;
  }

  /** Waits to be woken: by a submit that ends, or by the limit growing back (checked every 50 ms while anyone waits). */
  private turn(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      this.arm();
    });
  }

  private arm(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.wake();
      if (this.waiting.length > 0) this.arm();
    }, RAISE_EVERY_MS).unref();
  }

  private wake(): void {
    for (let free = this.allowed - this.running; free > 0 && this.waiting.length > 0; free--) this.waiting.shift()!();
  }
}

/**
 * How busy this process's event loop was over the last quarter second (Node's event loop
 * utilization: the share of wall time spent running code rather than waiting for I/O), sampled
 * by an unref'd timer until `stop()`. One per process: its workers share the loop.
 */
export class EventLoopLoad {
  private last: EventLoopUtilization = performance.eventLoopUtilization();
  private share = 0;
  // a busy loop runs the timer late: the window is then longer, its share still right
  private readonly timer = setInterval(() => this.sample(), CUT_EVERY_MS).unref();

  /** The share of the last quarter second the loop was busy, 0 to 1. */
  busy(): number {
    return this.share;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    const now = performance.eventLoopUtilization();
    this.share = performance.eventLoopUtilization(now, this.last).utilization;
    this.last = now;
  }
}
