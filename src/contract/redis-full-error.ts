/**
 * Redis refused a write because it is at `maxmemory` (kiln requires `noeviction`, so Redis
 * refuses rather than evicts): the request was not accepted, and nothing of it was stored.
 * Retry later, once memory is freed (finished jobs removed by their retention, or a larger
 * `maxmemory`). HTTP answers it as 503 `redis_full`, the CLI exits 5.
 */
export class RedisFullError extends Error {
  override name = "RedisFullError";
  readonly code = "redis_full";
  /** Structural marker: `instanceof` breaks across duplicated copies of this package. */
  readonly isRedisFullError = true;

  constructor(what: string, options?: { cause?: unknown }) {
    super(`Redis is full (maxmemory reached): ${what} was not accepted; retry once memory is freed`, options);
  }
}

export function isRedisFullError(err: unknown): err is RedisFullError {
  return typeof err === "object" && err !== null && (err as { isRedisFullError?: unknown }).isRedisFullError === true;
}

/** Redis's own refusal at `maxmemory` (`OOM command not allowed when used memory > 'maxmemory'`), from a command or a script. */
export function isOutOfMemory(err: unknown): boolean {
  const message = (err as { message?: unknown } | undefined)?.message;
  return typeof message === "string" && /\bOOM\b.*maxmemory/.test(message);
}

/** `work`, with Redis's refusal at `maxmemory` turned into a `RedisFullError` saying what was refused. */
export async function refusingWhenFull<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isOutOfMemory(err)) throw new RedisFullError(what, { cause: err });
    throw err;
  }
}
