import type { ModelKind } from "../providers/model-kind.js";
import { normal } from "../util/normal-distribution.js";

/**
 * What kiln has learned of a model's task durations: an exponentially weighted mean and
 * variance of ln(duration in ms ÷ request size), over `n` finished tasks (see DurationStatsStore).
 */
export interface DurationStats {
  n: number;
  mean: number;
  variance: number;
}

/** One progress percentage the provider reported, `atMs` after the submit. */
export interface ProgressSample {
  atMs: number;
  progress: number;
}

/** Per model kind: the schedule's floor and cap, and what a task takes before anything is learned. */
export interface AdaptiveBounds {
  /** No poll sooner than this after the last, ms. */
  floorMs: number;
  /** No poll later than this after the last, ms. */
  capMs: number;
  /** Median task duration assumed before any task of the model finished, ms (for a request of size 1). */
  priorMedianMs: number;
  /** Spread of that assumption: standard deviation of ln(duration). */
  priorSigma: number;
}

const SECOND = 1000;

/**
 * Floors sit below the detection goal (max(2 s, 10% of the duration)) so a short task can meet
 * it; caps keep a task that outlives every estimate from waiting long for its next poll.
 */
export const ADAPTIVE_BOUNDS: Record<ModelKind, AdaptiveBounds> = {
  image: { floorMs: 1 * SECOND, capMs: 15 * SECOND, priorMedianMs: 10 * SECOND, priorSigma: 1 },
  video: { floorMs: 1 * SECOND, capMs: 60 * SECOND, priorMedianMs: 60 * SECOND, priorSigma: 1.2 },
  "3d": { floorMs: 1 * SECOND, capMs: 60 * SECOND, priorMedianMs: 90 * SECOND, priorSigma: 1.2 },
  audio: { floorMs: 1 * SECOND, capMs: 15 * SECOND, priorMedianMs: 10 * SECOND, priorSigma: 1 },
  text: { floorMs: 1 * SECOND, capMs: 15 * SECOND, priorMedianMs: 10 * SECOND, priorSigma: 1 },
};

/** Everything the schedule knows about one pending task. */
export interface PollScheduleInput {
  /** Time since the submit, ms. */
  elapsedMs: number;
  /** The request's size relative to a typical one (video seconds ÷ 5, image count): durations scale with it. */
  size: number;
  /** The model's learned durations; undefined before any task of it finished. */
  stats?: DurationStats;
  /** The provider's recent progress reports, oldest first. */
  progress: readonly ProgressSample[];
  bounds: AdaptiveBounds;
  /** Multiplies the floor, the cap and the prior (KILN_POLL_SCALE). @defaultValue 1 */
  scale?: number;
  /** The provider's rate limit as a gap, ms: one task never polls faster than the whole provider may. @defaultValue 0 */
  minIntervalMs?: number;
  /** Behind a provider's rate: the share of its window recent polls left unused, 0–1. @defaultValue none (no rate) */
  spareRate?: number;
  /** @defaultValue Math.random */
  random?: () => number;
}

/** A log-normal belief about the task's total duration: ln(ms) ~ N(mu, sigma²). */
export interface DurationBelief {
  mu: number;
  sigma: number;
}

/** Each jump ahead risks at most this share of the tasks still running finishing before it. */
const EARLY_QUANTILE = 0.03;
/**
 * Near and past the expected finish, polls are at most this fraction of the elapsed time apart:
 * below the goal's 10%, leaving room for a visit's own latency. Without progress the belief is
 * wide and this phase long, so its polls are spaced closer to the goal.
 */
const DENSE_FRACTION = { withProgress: 0.06, withoutProgress: 0.09, narrowest: 0.03 };
/** Learned statistics count as this many tasks' worth of the prior less: a few samples already dominate. */
const PRIOR_WEIGHT = 2;
const MIN_SIGMA = 0.03;
/** Spread of a progress-based estimate: wide at 1%, narrow near 100%. */
const PROGRESS_SIGMA = { at100: 0.02, span: 0.3 };
/**
 * With progress reported, the cap is this many times longer: a task that outlives its estimate
 * shows it in its progress, so the schedule need not look in at the cap's pace (a 10-minute
 * video would otherwise spend ten polls learning nothing).
 */
const PROGRESS_CAP_FACTOR = 4;
/**
 * Behind a provider's rate, room its window leaves unused is lost: while recent polls found at
 * least `full` of the window free, the dense step shrinks to `densest` of itself; at `none` or
 * less free it stays as it is; in between, in proportion. Denser polls fill the window, which
 * brings the step back; it is never longer than without a rate.
 */
const SPARE = { none: 0.25, full: 0.5, densest: 0.25 };
/** Delays are shortened by up to this fraction at random, spreading polls of tasks submitted together. */
const JITTER = 0.1;

/** When to poll next, and how likely that poll is to find the task done. */
export interface PollPlan {
  /** Delay before the next status request, ms. */
  delayMs: number;
  /**
   * The chance the poll finds the task done, given that it was not done now, by the schedule's
   * belief (0–1); undefined when the schedule holds none (the fixed one). Behind a full rate
   * window, polls more likely to find their task done go first.
   */
  chance?: number;
}

/**
 * When to send the next status request of a pending task, and the chance it finds the task
 * done: P(D ≤ t + delay | D > t) from the same belief. The belief about the task's
 * duration D is log-normal, from the model's learned statistics (scaled by the request's size,
 * shrunk toward the kind's prior while few tasks were seen) combined, by precision, with the
 * finish time the provider's progress and its rate of change point to. Knowing D > elapsed = t:
 *
 *   next = max(t + DENSE_FRACTION·t, quantile of D | D > t at EARLY_QUANTILE)
 *   (DENSE_FRACTION 0.09 before the provider reported progress; after, 0.06, or the belief's
 *   own spread when the progress made it narrower, down to 0.03)
 *   delay = clamp((next − t)·(1 − JITTER·r), floor, cap), never below minIntervalMs
 *   (the cap ×4 once the provider reported progress; behind a rate with room to spare, the
 *   dense step down to a quarter, see SPARE)
 *
 * Far from the likely finish the quantile jumps ahead (sparse polls); near it and after it the
 * dense term keeps the detection delay under 6–9% of the task's duration.
 */
export function adaptivePoll(input: PollScheduleInput): PollPlan {
  const { bounds, scale = 1, minIntervalMs = 0, random = Math.random } = input;
  const t = Math.max(1, input.elapsedMs);
  const { mu, sigma } = durationBelief(input);
  const below = normal.cdf((Math.log(t) - mu) / sigma);
  const jumpTo = Math.exp(mu + sigma * normal.quantile(below + EARLY_QUANTILE * (1 - below)));
  const progressed = progressBelief(input.progress) !== undefined;
  // a belief the progress made narrow needs no wider a step than its own spread
  const dense =
    (progressed ? Math.min(DENSE_FRACTION.withProgress, Math.max(DENSE_FRACTION.narrowest, sigma)) : DENSE_FRACTION.withoutProgress) *
    spareFactor(input.spareRate);
  const gap = Math.max(jumpTo - t, dense * t) * (1 - JITTER * random());
  const cap = bounds.capMs * scale * (progressed ? PROGRESS_CAP_FACTOR : 1);
  const bounded = Math.min(cap, Math.max(bounds.floorMs * scale, gap));
  const delayMs = Math.round(Math.max(bounded, minIntervalMs));
  // P(D ≤ t + delay | D > t), from the survival function (computed without cancellation in its tail)
  const survives = (ms: number) => normal.cdf((mu - Math.log(ms)) / sigma);
  const now = survives(t);
  return { delayMs, chance: now > 0 ? Math.min(1, Math.max(0, 1 - survives(t + delayMs) / now)) : 1 };
}

/** What the dense step is multiplied by when the provider's rate has `spareRate` of its window to spare (1 without a rate). */
function spareFactor(spareRate: number | undefined): number {
  if (spareRate === undefined) return 1;
  const toSpare = Math.min(1, Math.max(0, (spareRate - SPARE.none) / (SPARE.full - SPARE.none)));
  return 1 - (1 - SPARE.densest) * toSpare;
}

/** The log-normal belief about the task's duration from the prior, the learned statistics and the progress. */
export function durationBelief(input: Pick<PollScheduleInput, "size" | "stats" | "progress" | "bounds" | "scale">): DurationBelief {
  const { bounds, stats, scale = 1 } = input;
  const sizeLog = Math.log(Math.max(input.size, 1e-3));
  const prior = { mu: Math.log(bounds.priorMedianMs * scale) + sizeLog, sigma: bounds.priorSigma };
  let belief = prior;
  if (stats && stats.n > 0) {
    const w = stats.n / (stats.n + PRIOR_WEIGHT);
    const learned = stats.mean + sizeLog;
    const mu = w * learned + (1 - w) * prior.mu;
    // the variance of the mixture: learned spread, prior spread, and how far apart they sit
    const variance = w * stats.variance + (1 - w) * prior.sigma ** 2 + w * (1 - w) * (learned - prior.mu) ** 2;
    belief = { mu, sigma: Math.sqrt(variance) };
  }
  const fromProgress = progressBelief(input.progress);
  if (fromProgress) belief = combine(belief, fromProgress);
  return { mu: belief.mu, sigma: Math.max(MIN_SIGMA, belief.sigma) };
}

/**
 * The finish time the progress points to: the latest report plus what is left at the rate
 * seen since an earlier, lower report (or since the submit, from 0%). Undefined without a
 * report between 0% and 100% exclusive, or when progress has not moved. Its spread is wide at
 * 1% and narrow near 100%; narrower still when the progress moves at a steady rate (the
 * finish seen from the earlier report and the one seen from the submit agree), down to what
 * whole percentages can tell.
 */
export function progressBelief(samples: readonly ProgressSample[]): DurationBelief | undefined {
  const usable = samples.filter((s) => s.progress > 0 && s.progress < 100 && s.atMs > 0);
  const last = usable.at(-1);
  if (!last) return undefined;
  const earlier = usable.find((s) => s.progress < last.progress);
  const finish = finishFrom(earlier ?? { atMs: 0, progress: 0 }, last);
  if (finish === undefined) return undefined;
  const left = 1 - last.progress / 100;
  const wide = PROGRESS_SIGMA.at100 + PROGRESS_SIGMA.span * left;
  const fromSubmit = earlier ? finishFrom({ atMs: 0, progress: 0 }, last) : undefined;
  if (!earlier || fromSubmit === undefined) return { mu: Math.log(finish), sigma: wide };
  // whole percentages: the rate is known to about one step in the progress it moved
  const steps = left / (last.progress - earlier.progress);
  const steady = Math.abs(Math.log(finish / fromSubmit)) + steps;
  return { mu: Math.log(finish), sigma: Math.min(wide, Math.max(PROGRESS_SIGMA.at100, steady)) };
}

/** When progress reaches 100% at the rate between two reports; undefined if it did not move. */
function finishFrom(from: ProgressSample, last: ProgressSample): number | undefined {
  const rate = (last.progress - from.progress) / (last.atMs - from.atMs);
  if (!(rate > 0) || !Number.isFinite(rate)) return undefined;
  return last.atMs + (100 - last.progress) / rate;
}

/** Two independent normal beliefs about ln(D), combined by precision. */
function combine(a: DurationBelief, b: DurationBelief): DurationBelief {
  const pa = 1 / a.sigma ** 2;
  const pb = 1 / b.sigma ** 2;
  return { mu: (a.mu * pa + b.mu * pb) / (pa + pb), sigma: 1 / Math.sqrt(pa + pb) };
}
