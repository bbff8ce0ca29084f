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
 * A fastify hook guarding write endpoints with `Authorization: Bearer <token>`. Without a
 * configured token every write is refused (503): the API is never open by default.
 */
export function bearerAuth(token: string | undefined): (request: FastifyRequest) => Promise<void> {
  return tokenAuth([token], "write endpoints are disabled: KILN_API_TOKEN is not configured on this server", "KILN_API_TOKEN");
}

export interface ReadAuthOptions {
  /** `KILN_READ_TOKEN`: a token that may read but not write. */
  readToken?: string;
  /** `KILN_API_TOKEN`: the write token reads too. */
  apiToken?: string;
  /** `KILN_PUBLIC_READS`: reads need no token (job data holds prompts and answers: opt in knowingly). */
  publicReads: boolean;
}

/**
 * The hook guarding read endpoints (`GET /v1/generations/{id}`, `GET /v1/batches/{id}`): the read
 * token or the API token, unless reads were made public. Without either token reads answer 503.
 */
export function readAuth(options: ReadAuthOptions): ((request: FastifyRequest) => Promise<void>) | undefined {
  if (options.publicReads) return undefined;
  return tokenAuth(
    [options.readToken, options.apiToken],
    "read endpoints are disabled: set KILN_READ_TOKEN or KILN_API_TOKEN (or KILN_PUBLIC_READS=true)",
    "KILN_READ_TOKEN or KILN_API_TOKEN",
  );
}

function tokenAuth(tokens: Array<string | undefined>, disabled: string, named: string): (request: FastifyRequest) => Promise<void> {
  const accepted = tokens.filter((t): t is string => t !== undefined);
  return async (request) => {
    if (accepted.length === 0) throw new HttpError(503, "auth_not_configured", disabled);
    const given = /^Bearer[ ]+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];
    if (given === undefined)
      throw new HttpError(401, "unauthorized", `missing bearer token: send Authorization: Bearer <${named}>`, {
        "www-authenticate": CHALLENGE,
      });
    // every token is compared, so the time taken does not tell which one matched
    const matches = accepted.map((token) => tokensEqual(given, token));
    if (!matches.includes(true))
      throw new HttpError(401, "unauthorized", "invalid bearer token", { "www-authenticate": `${CHALLENGE}, error="invalid_token"` });
  };
}
