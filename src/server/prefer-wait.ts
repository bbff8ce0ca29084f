import type { FastifyReply, FastifyRequest } from "fastify";
import { HttpError } from "./api-error.js";

/** The longest wait a request may ask for, seconds; a longer one is clamped to it (as Replicate does). */
export const MAX_WAIT_SECONDS = 60;

/** A `Prefer: wait=N` a request made, as the server will honour it. */
interface WaitPreference {
  /** 1 to `MAX_WAIT_SECONDS`. */
  seconds: number;
  /** The `Preference-Applied` header value: `wait=<seconds>`, the clamped value when it was clamped. */
  applied: string;
}

/**
 * The `wait` preference of a `Prefer` header (RFC 7240), or undefined. Preferences are
 * comma-separated `token[=value]` with optional `;` parameters; the token is case-insensitive
 * and the value may be quoted. As RFC 7240 asks, what the server does not understand is
 * ignored, not refused: a missing, non-integer or zero wait means no wait.
 */
export function preferredWait(header: string | string[] | undefined): WaitPreference | undefined {
  const values = header === undefined ? [] : [header].flat();
  for (const preference of values.flatMap((v) => v.split(","))) {
    const [token, ...rest] = (preference.split(";")[0] ?? "").split("=");
    if (token?.trim().toLowerCase() !== "wait") continue;
    const value = rest
      .join("=")
      .trim()
      .replace(/^"(.*)"$/, "$1");
    if (!/^\d+$/.test(value) || Number(value) < 1) return undefined;
    const seconds = Math.min(Number(value), MAX_WAIT_SECONDS);
    return { seconds, applied: `wait=${seconds}` };
  }
  return undefined;
}

/** How the server waits: shared by every waiting request. */
export interface WaitSettings {
  /** How often a waiting request reads the job (or batch) again, ms. */
  intervalMs: number;
  /** The 503 request timeout (`requestTimeoutMs`); a waiting request gets it on top of its wait. */
  requestTimeoutMs: number;
  /** Aborted when the server starts closing: waits end at once with what they have. */
  closing: AbortSignal;
}

/** A route's fastify `handlerTimeout` when it honours `Prefer: wait`: the longest wait plus the request timeout. */
export function waitingHandlerTimeout(settings: WaitSettings): number {
  return settings.requestTimeoutMs + MAX_WAIT_SECONDS * 1000 + 1000;
}

/**
 * Answers `request` the way a route that honours `Prefer: wait` does. `answer` does the work with
 * a `wait(first, read, ended)` that, when the request asked to wait, reads again every
 * `intervalMs` until `ended`, the wait runs out, the client goes away or the server closes. The
 * whole answer is held to the wait plus the request timeout (the route's own fastify timeout is
 * raised to the longest wait), so a request that did not ask to wait still hears 503 as soon as
 * any other.
 */
export async function answerPreferringWait<R>(
  request: FastifyRequest,
  reply: FastifyReply,
  settings: WaitSettings,
  answer: (wait: Waiter) => Promise<R>,
): Promise<R> {
  const preference = preferredWait(request.headers.prefer);
  const waitMs = (preference?.seconds ?? 0) * 1000;
  const gone = clientGone(reply, settings.closing);
  const wait: Waiter = async (first, read, ended) => {
    if (!preference || ended(first)) return first;
    return pollUntil(first, read, ended, { untilMs: Date.now() + waitMs, intervalMs: settings.intervalMs, signal: gone.signal });
  };
  try {
    const result = await within(answer(wait), settings.requestTimeoutMs + waitMs);
    if (preference) void reply.header("preference-applied", preference.applied);
    return result;
  } finally {
    gone.dispose();
  }
}

/** Waits for `ended(value)`: resolves with the last value read (the first when nothing was read). */
export type Waiter = <T>(first: T, read: () => Promise<T | undefined>, ended: (value: T) => boolean) => Promise<T>;

async function pollUntil<T>(
  first: T,
  read: () => Promise<T | undefined>,
  ended: (value: T) => boolean,
  options: { untilMs: number; intervalMs: number; signal: AbortSignal },
): Promise<T> {
  let value = first;
  for (;;) {
    const left = options.untilMs - Date.now();
    if (left <= 0 || options.signal.aborted) return value;
    await sleep(Math.min(left, options.intervalMs), options.signal);
    if (options.signal.aborted) return value;
    // a job removed while waited for: answer what was last seen
    value = (await read()) ?? value;
    if (ended(value)) return value;
  }
}

/** Resolves after `ms`, or as soon as `signal` aborts; never keeps the process alive. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * A signal aborted when the client closes the connection before the answer (the response's
 * `close` before it ended) or when the server closes. `IncomingMessage`'s own `close` is no
 * use here: it fires once the request body has been read.
 */
function clientGone(reply: FastifyReply, closing: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) controller.abort();
  };
  const onClosing = () => controller.abort();
  reply.raw.once("close", onClose);
  closing.addEventListener("abort", onClosing, { once: true });
  if (closing.aborted) controller.abort();
  return {
    signal: controller.signal,
    dispose: () => {
      reply.raw.off("close", onClose);
      closing.removeEventListener("abort", onClosing);
    },
  };
}

/** `work`, or a 503 (as fastify's own request timeout answers) when it takes longer than `ms`. */
async function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HttpError(503, "unavailable", "the request timed out; try again later")), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
