import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { HttpError } from "./api-error.js";

const CHALLENGE = 'Bearer realm="kiln"';

/**
 * Compares two tokens in constant time. Both are hashed first, so the comparison takes the
 * same time whatever their lengths and never reveals the expected token's length.
 */
export function tokensEqual(given: string, expected: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Who sent a request: `tenant` when it came with a tenant-bound token (`KILN_API_TOKENS`), which
 * confines it to that tenant's jobs and batches; none for the API, read or admin tokens and for
 * public reads, which see every tenant.
 */
interface Caller {
  tenant?: string;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the auth hooks once a token matched (see `Caller`). */
    caller?: Caller;
  }
}

/** The tokens of the API, as the read and write hooks accept them. */
export interface AuthOptions {
  /** `KILN_READ_TOKEN`: a token that may read but not write. */
  readToken?: string;
  /** `KILN_API_TOKEN`: the write token reads too. */
  apiToken?: string;
  /** `KILN_PUBLIC_READS`: reads need no token (job data holds prompts and answers: opt in knowingly). */
  publicReads: boolean;
  /** `KILN_API_TOKENS`: token → tenant; each reads and writes its tenant's jobs only. @defaultValue none */
  tenantTokens?: ReadonlyMap<string, string>;
}

/**
 * A fastify hook guarding write endpoints with `Authorization: Bearer <token>`: the API token
 * or a tenant-bound one. Without a configured token every write is refused (503): the API is
 * never open by default.
 */
export function bearerAuth(options: AuthOptions): (request: FastifyRequest) => Promise<void> {
  return tokenAuth(
    [{ token: options.apiToken }, ...tenantTokens(options)],
    "write endpoints are disabled: KILN_API_TOKEN is not configured on this server (nor KILN_API_TOKENS)",
    "KILN_API_TOKEN",
  );
}

/**
 * The hook guarding read endpoints (`GET /v1/generations/{id}`, `GET /v1/batches/{id}`): the read
 * token, the API token or a tenant-bound one, unless reads were made public. Without any token
 * reads answer 503.
 */
export function readAuth(options: AuthOptions): ((request: FastifyRequest) => Promise<void>) | undefined {
  if (options.publicReads) return undefined;
  return tokenAuth(
    [{ token: options.readToken }, { token: options.apiToken }, ...tenantTokens(options)],
    "read endpoints are disabled: set KILN_READ_TOKEN or KILN_API_TOKEN (or KILN_PUBLIC_READS=true)",
    "KILN_READ_TOKEN or KILN_API_TOKEN",
  );
}

function tenantTokens(options: AuthOptions): Array<{ token: string; tenant: string }> {
  return [...(options.tenantTokens ?? new Map<string, string>())].map(([token, tenant]) => ({ token, tenant }));
}

function tokenAuth(
  tokens: Array<{ token: string | undefined; tenant?: string }>,
  disabled: string,
  named: string,
): (request: FastifyRequest) => Promise<void> {
  const accepted = tokens.filter((t): t is { token: string; tenant?: string } => t.token !== undefined);
  return async (request) => {
    if (accepted.length === 0) throw new HttpError(503, "auth_not_configured", disabled);
    const given = /^Bearer[ ]+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];
    if (given === undefined)
      throw new HttpError(401, "unauthorized", `missing bearer token: send Authorization: Bearer <${named}>`, {
        "www-authenticate": CHALLENGE,
      });
    // every token is compared, so the time taken does not tell which one matched
    const matches = accepted.map(({ token }) => tokensEqual(given, token));
    const matched = accepted[matches.indexOf(true)];
    if (!matched)
      throw new HttpError(401, "unauthorized", "invalid bearer token", { "www-authenticate": `${CHALLENGE}, error="invalid_token"` });
    request.caller = matched.tenant === undefined ? {} : { tenant: matched.tenant };
  };
}
