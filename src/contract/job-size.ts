/** `KILN_MAX_JOB_BYTES`'s default: a job's data as JSON, at most 1 MiB (the HTTP API's body limit too). */
export const DEFAULT_MAX_JOB_BYTES = 1024 * 1024;

/**
 * Why `data` is too big to be a job, naming its largest field, or undefined when it fits in
 * `maxBytes` of JSON. Job data sits in Redis and is sent to the provider whole, so a producer
 * refuses it before `add` and the worker refuses it at intake. `data` must be checked for depth
 * first (`nestsDeeperThan`): JSON.stringify recurses.
 */
export function jobSizeProblem(data: Record<string, unknown>, maxBytes: number): string | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(data));
  if (bytes <= maxBytes) return undefined;
  const sizes = Object.entries(data).map(([field, value]) => ({ field, bytes: Buffer.byteLength(JSON.stringify(value) ?? "") }));
  const largest = sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a), { field: "(root)", bytes: 0 });
  return `${largest.field}: makes the job ${bytes} bytes of JSON, more than the limit of ${maxBytes} (KILN_MAX_JOB_BYTES)`;
}
