import { z } from "zod";

/** The tenant of a request that names none: every producer written before tenants existed. */
export const DEFAULT_TENANT = "default";

/** The rule of a tenant id, as every refusal states it. */
const TENANT_RULE = "1-63 characters: lowercase letters, digits, '-' and '_', starting with a letter or digit";

/**
 * A tenant: the service a request comes from, which fair shares, budgets and tokens are kept
 * per. Short and plain, so it fits a Redis key, a metric label and a URL path as it is.
 */
export const Tenant = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, { message: `must be ${TENANT_RULE}` });

/** A request's tenant, or the default tenant when it names none. */
export function tenantOf(request: { tenant?: string | undefined }): string {
  return request.tenant ?? DEFAULT_TENANT;
}

/** The tenant a job's stored data names, read without trusting it: the default tenant unless it names a valid one. */
export function tenantOfData(data: unknown): string {
  const named = typeof data === "object" && data !== null ? (data as { tenant?: unknown }).tenant : undefined;
  const tenant = Tenant.safeParse(named);
  return tenant.success ? tenant.data : DEFAULT_TENANT;
}
