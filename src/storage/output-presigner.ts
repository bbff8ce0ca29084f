import type { OutputLink, PresignOutput } from "../contract/output-link.js";
import type { ArchiveStore } from "./archive-store.js";

/** How long a presigned output URL lasts by default (`KILN_OUTPUT_URL_TTL`): 1 h. */
export const DEFAULT_OUTPUT_URL_TTL_MS = 60 * 60 * 1000;

/** The settings `outputLinksOf` reads, named as the variables that set them (config/archive.ts parses them). */
export interface OutputUrlSettings {
  /** `presigned`: answers and webhook deliveries carry an `href` per output. */
  KILN_OUTPUT_URLS: "off" | "presigned";
  /** ms. @defaultValue DEFAULT_OUTPUT_URL_TTL_MS */
  KILN_OUTPUT_URL_TTL?: number;
}

/**
 * The one way kiln mints a link to an archived output, used by the output route's redirect,
 * `GET /v1/generations/{id}`, `kiln status` and the webhook worker; undefined for a store that
 * cannot presign (a local directory). The signing instant is taken to the whole second, as
 * SigV4's `X-Amz-Date` keeps it, so `expiresAt` is exactly when S3 stops honouring the URL.
 */
export function outputPresigner(
  store: ArchiveStore,
  ttlMs = DEFAULT_OUTPUT_URL_TTL_MS,
  clock: () => number = Date.now,
): PresignOutput | undefined {
  const presignGet = store.presignGet?.bind(store);
  if (!presignGet) return undefined;
  const ttlSeconds = Math.max(1, Math.round(ttlMs / 1000));
  return async (output): Promise<OutputLink> => {
    const signedAt = new Date(Math.floor(clock() / 1000) * 1000);
    const href = await presignGet(output.key, ttlSeconds, output.contentType, signedAt);
    return { href, expiresAt: new Date(signedAt.getTime() + ttlSeconds * 1000).toISOString() };
  };
}

/**
 * The presigner of answers and deliveries: set only when `KILN_OUTPUT_URLS=presigned` (the
 * config refuses that setting without an S3 archive, so a local store here is a wiring mistake).
 */
export function outputLinksOf(env: OutputUrlSettings, store: ArchiveStore): PresignOutput | undefined {
  if (env.KILN_OUTPUT_URLS !== "presigned") return undefined;
  const presign = outputPresigner(store, env.KILN_OUTPUT_URL_TTL);
  if (!presign) throw new RangeError(`KILN_OUTPUT_URLS: presigned needs an archive that presigns (S3), not ${store.location}`);
  return presign;
}
