import { z } from "zod";

/** See `SimulatorOptions.queryAnswers`. */
export const QueryAnswerStyle = z.enum(["native", "documented", "unreadable"]);
export type QueryAnswerStyle = z.infer<typeof QueryAnswerStyle>;

/**
 * How the provider simulator behaves. Every field can be changed at run time with
 * `POST /__simulator/config`, so a test can start a 429 storm and end it.
 */
export const SimulatorOptions = z.object({
  /** Bearer token required on API calls; any non-empty token when unset. */
  apiKey: z.string().optional(),
  /**
   * Whether a 401 quotes the key it was sent, as OpenAI's `Incorrect API key provided: sk-...`
   * does: `whole`, or `masked` (its first 8 and last 4 characters around asterisks). With
   * `whole`, a TokenHub task that fails quotes it in its reason too.
   */
  echoKey: z.enum(["no", "whole", "masked"]).default("no"),
  /** Time from submit to a terminal status, ms, per family. */
  durationsMs: z.object({ image: z.number().min(0), video: z.number().min(0), "3d": z.number().min(0) }),
  /** Fraction of tasks that end `failed`. */
  failureRate: z.number().min(0).max(1),
  /** Fraction of API calls answered 429 `rate_limit_exceeded` with Retry-After. */
  rateLimitRate: z.number().min(0).max(1),
  retryAfterSeconds: z.number().min(0),
  /**
   * A provider's own rate limit: each provider answers 429 `rate_limit_exceeded` (with
   * Retry-After: 1) to API calls, submits and queries alike, beyond this many in any sliding
   * second; such a call has no effect. 0: no limit.
   */
  ratePerSecond: z.number().min(0).default(0),
  /** Fraction of API calls answered 500 `engine_server_error` or 503 `service_unavailable`. */
  serverErrorRate: z.number().min(0).max(1),
  /**
   * Fraction of API calls that take effect (a submit creates its task) and then answer 200
   * with the JSON body cut in half: an answer the caller cannot read.
   */
  truncateRate: z.number().min(0).max(1).default(0),
  /** Fraction of API calls and downloads whose connection is reset after the call took effect. */
  resetRate: z.number().min(0).max(1).default(0),
  /**
   * Mean time an API call takes before it answers, ms, drawn uniformly from 0.5× to 1.5× per
   * call (a real provider's submit takes 100 ms or more, and varies).
   */
  latencyMs: z.number().min(0).default(0),
  /** Approximate size of each output, bytes. */
  outputBytes: z.object({
    image: z.number().int().min(0),
    video: z.number().int().min(0),
    model: z.number().int().min(0),
    preview: z.number().int().min(0),
  }),
  /** Result URLs answer 403 (expired signature) this long after the task completes, ms. */
  urlTtlMs: z.number().min(0),
  /**
   * How a model answers its task query, by model id: `native`, its own structure (the default);
   * `documented`, the one structure the gateway document's task query examples (7.6) show (`output.task_status`,
   * `output.video_url` or `output.results[]`; TokenHub documents one structure, so the same as
   * native there); `unreadable`, a 200 whose JSON has no status where any provider puts one (a
   * broken proxy, a provider that changed its answers).
   */
  queryAnswers: z.record(z.string(), QueryAnswerStyle).default({}),
  /**
   * Submits of these models (by id, lower case) are refused with an error the providers'
   * documents list, and create no task: `unavailable` 403 `model_not_available`, `busy` 503
   * `service_unavailable`, `error` 500 `engine_server_error`. Their tasks' queries are untouched.
   */
  modelFaults: z.record(z.string(), z.enum(["unavailable", "busy", "error"])).default({}),
  /** Seeds the simulator's random decisions, so a run can be repeated. */
  seed: z.string(),
});
export type SimulatorOptions = z.infer<typeof SimulatorOptions>;

export const DEFAULT_SIMULATOR_OPTIONS: SimulatorOptions = {
  durationsMs: { image: 1500, video: 4000, "3d": 4000 },
  failureRate: 0,
  rateLimitRate: 0,
  retryAfterSeconds: 1,
  ratePerSecond: 0,
  serverErrorRate: 0,
  outputBytes: { image: 64 * 1024, video: 512 * 1024, model: 128 * 1024, preview: 16 * 1024 },
  urlTtlMs: 60 * 60 * 1000,
  seed: "kiln",
  truncateRate: 0,
  resetRate: 0,
  latencyMs: 0,
  queryAnswers: {},
  modelFaults: {},
  echoKey: "no",
};

/** How `model` answers its task query (`queryAnswers`, by id as the caller named it or lower-cased). */
export function queryAnswerStyle(options: SimulatorOptions, model: string): QueryAnswerStyle {
  return options.queryAnswers[model] ?? options.queryAnswers[model.toLowerCase()] ?? "native";
}

/**
 * A query answer no reader can use: a 200 with JSON, but no status in any place a provider
 * puts one, as a proxy in front of a provider answers when it is misconfigured.
 */
export function unreadableQueryAnswer(requestId: string): Record<string, unknown> {
  return {
    request_id: requestId,
    notice: "upstream answered in a format this proxy does not pass on",
    payload: `<html><body><h1>502</h1><p>${"upstream ".repeat(400)}</p></body></html>`,
  };
}

/** Prompt markers a request can carry to choose its own fate (like a payment sandbox's test cards). */
export const DIRECTIVES = {
  /** The task ends `failed` with a content-policy reason. */
  fail: "[sim:fail]",
  /** The result URL is dead as soon as the task completes. */
  expire: "[sim:expire]",
  /**
   * The first submit with this prompt creates the task but answers 200 with its JSON cut short
   * (a broken proxy); later submits answer normally.
   */
  garbled: "[sim:garbled]",
  /**
   * `[sim:ms=<n>]`: the task takes n ms instead of its family's `durationsMs`, and its progress
   * moves with it (the benchmarks draw each task's duration from a distribution this way).
   */
  duration: "[sim:ms=",
  /**
   * `[sim:download=<mode>]`: the task's result URLs misbehave (`hostile-downloads.ts`): `html`,
   * `endless`, `huge` (announces 300 GB), `trickle` (a byte every 100 ms) or `redirect-loop`.
   */
  download: "[sim:download=",
} as const;

/** The duration a prompt asks for with `[sim:ms=<n>]`, ms; undefined when it asks for none. */
export function durationDirective(prompt: string): number | undefined {
  const match = /\[sim:ms=(\d{1,9})\]/.exec(prompt);
  return match ? Number(match[1]) : undefined;
}
