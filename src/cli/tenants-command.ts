import { Command } from "commander";
import { loadEnvironment, pricesOf, tenantBudgetsOf } from "../config/index.js";
import { Tenant } from "../contract/tenant.js";
import { InvalidRequestError } from "../contract/invalid-request-error.js";
import { TenantBudget } from "../billing/tenant-budget.js";
import { connectRedis, redisTargetOf, waitReady } from "../queue/redis.js";
import { printJson } from "./cli-output.js";
import { textTable } from "./text-table.js";

/** `kiln tenants <id>...`: each tenant's budgeted periods, as `GET /v1/tenants/{id}/usage` answers them. */
export function tenantsCommand(): Command {
  return new Command("tenants")
    .description("each tenant's budgeted periods (KILN_TENANT_BUDGETS): limit, spent, reserved and remaining today and this month")
    .argument("<tenant...>", "tenant ids")
    .option("--json", "print [{ tenant, periods: [...] }] as GET /v1/tenants/{id}/usage answers each")
    .action(async (tenants: string[], o: { json?: boolean }) => {
      for (const tenant of tenants) {
        const checked = Tenant.safeParse(tenant);
        if (!checked.success) throw new InvalidRequestError(`tenant ${JSON.stringify(tenant)}: ${checked.error.issues[0]!.message}`);
      }
      const env = loadEnvironment();
      const redis = connectRedis(redisTargetOf(env), "producer");
      try {
        await waitReady(redis, 10_000);
        const budget = new TenantBudget(redis, env.KILN_PREFIX, pricesOf(env), tenantBudgetsOf(env));
        const answers = await Promise.all(tenants.map(async (tenant) => ({ tenant, periods: await budget.usage(tenant) })));
        if (o.json) return printJson(answers);
        const rows = answers.flatMap(({ tenant, periods }) =>
          periods.length === 0
            ? [[tenant, "-", "-", "-", "-", "-", "-", "no budget"]]
            : periods.map((p) => [
                tenant,
                p.period,
                p.id,
                `${p.limit} ${p.currency}`,
                p.spent,
                p.reserved,
                p.remaining,
                p.exhausted ? "exhausted" : "open",
              ]),
        );
        console.log(textTable(["tenant", "period", "id", "limit", "spent", "reserved", "remaining", "state"], rows));
      } finally {
        await redis.quit().catch(() => redis.disconnect());
      }
    });
}
