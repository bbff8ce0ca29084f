import type { FastifyRequest } from "fastify";
import { DEFAULT_TENANT } from "../contract/tenant.js";
import { HttpError } from "./api-error.js";

/**
 * What a tenant-bound token (`KILN_API_TOKENS`) may reach: its own tenant's jobs and batches.
 * Anything of another tenant answers as if it did not exist (404), so a token cannot learn
 * which ids other tenants use; tokens that are not bound see every tenant.
 */

/** Whether the caller may see a job or batch of `tenant`. */
function visibleTo(request: FastifyRequest, tenant: string): boolean {
  const own = request.caller?.tenant;
  return own === undefined || own === tenant;
}

/**
 * A listing's query as the caller may run it: a bound token lists its own tenant only. Undefined
 * when it asked for another tenant's, which lists nothing (its jobs would answer 404 one by one).
 */
export function scopedQuery<Q extends { tenant?: string }>(request: FastifyRequest, query: Q): Q | undefined {
  const own = request.caller?.tenant;
  if (own === undefined) return query;
  return query.tenant === undefined || query.tenant === own ? { ...query, tenant: own } : undefined;
}

/**
 * The tenant a bound token writes as: its own, whether the body names it or none; naming another
 * is refused (403). Undefined for an unbound token, which writes what the body names.
 */
export function writeTenant(request: FastifyRequest, named: unknown): string | undefined {
  const own = request.caller?.tenant;
  if (own === undefined) return undefined;
  if (named !== undefined && named !== own)
    throw new HttpError(403, "forbidden", `tenant: this token writes as tenant ${own} only, not ${JSON.stringify(named)}`);
  return own;
}

/** 404 for what the caller may not see, with the message a missing one gets. */
export function mustSee(request: FastifyRequest, tenant: string | undefined, notFound: string): void {
  if (!visibleTo(request, tenant ?? DEFAULT_TENANT)) throw new HttpError(404, "not_found", notFound);
}
