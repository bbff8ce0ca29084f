import { isCredentialField, redactSecrets } from "../logger.js";
import type { SecretScrubber } from "../util/secret-scrubber.js";

/** Deeper than any job data kiln writes; it also stops a walk around a cycle. */
const MAX_DEPTH = 16;

/** The part of a bull-board queue adapter this module hooks (`BullMQAdapter`). */
export interface DashboardAdapter {
  setFormatter(field: "data" | "returnValue" | "progress", formatter: (value: unknown) => unknown): void;
  getJob(id: string): Promise<unknown>;
  getJobs(...args: never[]): Promise<unknown[]>;
}

/**
 * Makes a bull-board queue show no secret: a job's data, return value and progress (kiln's
 * state) through bull-board's formatters, and its failed reason and stack trace, which have no
 * formatter, on the jobs the adapter reads. A field named like a credential (`webhook.secret`)
 * is blanked, and its value, like every configured secret, is replaced wherever else it appears
 * in the job (an error that quoted it).
 */
export function redactDashboard(adapter: DashboardAdapter, secrets: SecretScrubber): void {
  for (const field of ["data", "returnValue", "progress"] as const) adapter.setFormatter(field, (value) => shownValue(value, secrets));
  const getJob = adapter.getJob.bind(adapter);
  const getJobs = adapter.getJobs.bind(adapter);
  adapter.getJob = async (id) => shownJob(await getJob(id), secrets);
  adapter.getJobs = async (...args) => (await getJobs(...args)).map((job) => shownJob(job, secrets));
}

/** `value` as the dashboard may show it: credential fields blanked, secrets replaced in every string. */
function shownValue(value: unknown, secrets: SecretScrubber): unknown {
  return secrets.with(credentialsIn(value, 0)).scrubDeep(redactSecrets(value));
}

/**
 * The job bull-board reads (its `toJSON` is what it shows), its failed reason and stack trace
 * scrubbed. It is this request's own copy, read from Redis for it, so changing it changes
 * nothing stored.
 */
function shownJob<T>(job: T, secrets: SecretScrubber): T {
  if (job === null || typeof job !== "object") return job;
  const fields = job as { data?: unknown; failedReason?: unknown; stacktrace?: unknown };
  const scrubber = secrets.with(credentialsIn(fields.data, 0));
  if (typeof fields.failedReason === "string") fields.failedReason = scrubber.scrub(fields.failedReason);
  if (Array.isArray(fields.stacktrace))
    fields.stacktrace = fields.stacktrace.map((line: unknown) => (typeof line === "string" ? scrubber.scrub(line) : line));
  return job;
}

/** The string values of fields named like credentials (a string, or strings such as `webhook.secrets`), at any depth. */
function credentialsIn(value: unknown, depth: number): string[] {
  if (value === null || typeof value !== "object" || depth > MAX_DEPTH) return [];
  if (Array.isArray(value)) return value.flatMap((v) => credentialsIn(v, depth + 1));
  return Object.entries(value).flatMap(([key, field]) => (isCredentialField(key) ? stringsOf(field) : credentialsIn(field, depth + 1)));
}

/** A credential field's value as the strings it holds: itself, or an array's strings. */
function stringsOf(field: unknown): string[] {
  if (typeof field === "string") return [field];
  return Array.isArray(field) ? field.filter((v): v is string => typeof v === "string") : [];
}
