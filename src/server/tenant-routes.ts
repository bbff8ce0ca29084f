import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { Tenant } from "../contract/tenant.js";
import type { TenantPeriodUsage } from "../billing/tenant-budget.js";
import { HttpError } from "./api-error.js";
import { readAuth, type AuthOptions } from "./bearer-auth.js";
import { mustSee } from "./tenant-scope.js";

/** `GET /v1/tenants/{id}/usage`: a tenant's budgeted periods as they stand. */
export const TenantUsage = z.object({
  tenant: z.string(),
  periods: z
    .array(
      z.object({
        period: z.enum(["daily", "monthly"]),
        id: z.string().describe("the UTC day (2026-12-06) or month (2026-12)"),
        limit: z.string(),
        currency: z.string(),
        spent: z.string().describe("what its finished jobs of the period cost"),
        reserved: z.string().describe("what its running jobs reserved, at their estimates"),
        remaining: z.string().describe("limit − spent − reserved, at least 0"),
        exhausted: z.boolean().describe("a job was refused: the period's later jobs end budget_exhausted"),
      }),
    )
    .describe("one entry per period KILN_TENANT_BUDGETS limits this tenant by; none without a budget"),
});

export interface TenantRoutesOptions {
  auth: AuthOptions;
  /** The tenant's budgeted periods now (`TenantBudget.usage`). */
  usage: (tenant: string) => Promise<TenantPeriodUsage[]>;
}

export function registerTenantRoutes(app: FastifyInstance, options: TenantRoutesOptions): void {
  app.get<{ Params: { id: string } }>("/v1/tenants/:id/usage", { onRequest: readAuth(options.auth) }, async (request) => {
    const { id } = request.params;
    if (!Tenant.safeParse(id).success) throw new HttpError(400, "invalid_request", `id: ${Tenant.safeParse(id).error!.issues[0]!.message}`);
    // a bound token sees its own tenant only: another one is as absent as an unknown id
    mustSee(request, id, `no tenant ${id}`);
    return { tenant: id, periods: await options.usage(id) };
  });
}
