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
  return async (request) => {
    if (token === undefined) throw new HttpError(503, "auth_not_configured", "write endpoints are disabled: KILN_API_TOKEN is not configured on this server");
    const given = /^Bearer[ ]+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];
    if (given === undefined) throw new HttpError(401, "unauthorized", "missing bearer token: send Authorization: Bearer <KILN_API_TOKEN>", { "www-authenticate": CHALLENGE });
    if (!tokensEqual(given, token)) throw new HttpError(401, "unauthorized", "invalid bearer token", { "www-authenticate": `${CHALLENGE}, error="invalid_token"` });
  };
}
