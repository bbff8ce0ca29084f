import { readFileSync } from "node:fs";
import { z } from "zod";
import { Tenant } from "../contract/tenant.js";
import { MAX_WEBHOOK_SECRETS, WebhookSecret } from "../contract/webhook-secret.js";
import { configError } from "./errors.js";
import { BUDGET_PERIODS, type BudgetPeriod } from "../billing/tenant-budget.js";
import { MAX_BUDGET } from "../billing/budget-ledger.js";
import { parseDecimal, type DecimalAmount } from "../billing/decimal-amount.js";
import type { TenantShares } from "../inflight/inflight-slots.js";

/** Tenants: the tokens bound to one tenant, and the secrets that sign one tenant's webhooks. */
export const TenantsConfig = z.object({
  /**
   * API tokens bound to a tenant, `tenant:token,tenant:token` (tokens of at least 16 characters;
   * a tenant may have several, for rotation). Such a token enqueues only as its tenant and reads,
   * lists, cancels and streams only its tenant's jobs and batches. Unset by default.
   */
  KILN_API_TOKENS: z.string().trim().min(1).optional(),
  /** The same pairs in a file, one `tenant:token` per line (`#` comments). Unset by default. */
  KILN_API_TOKENS_FILE: z.string().trim().min(1, { message: "expected the path of a token file" }).optional(),
  /**
   * Webhook signing secrets per tenant, `tenant:whsec_…,…`: a tenant's deliveries are signed with its own.
   * A tenant named again has several, newest first (`studio:whsec_new,studio:whsec_old`, at most 5). Unset by default.
   */
  KILN_TENANT_WEBHOOK_SECRETS: z.string().trim().min(1).optional(),
  /**
   * Spend limits per tenant and period in the price table's currency, `tenant/daily=50,tenant/monthly=1000`
   * (`*` for every tenant without its own; UTC days and months). Needs KILN_PRICES. Unset by default.
   */
  KILN_TENANT_BUDGETS: z.string().trim().min(1).optional(),
  /**
   * Each tenant's share of a contended in-flight cap, relative to the others', `interactive=4,*=1`
   * (`*`: every tenant without its own). Unset: equal shares.
   */
  KILN_TENANT_WEIGHTS: z.string().trim().min(1).optional(),
  /** The most tasks one tenant has in flight at each provider, `bulk=20,*=50` (`*`: every tenant without its own). Unset: none. */
  KILN_TENANT_MAX_INFLIGHT: z.string().trim().min(1).optional(),
});
export type TenantsConfig = z.infer<typeof TenantsConfig>;

const TokenValue = z.string().min(16, { message: "expected a token of at least 16 characters" });

/**
 * Every tenant-bound API token, token → tenant, from `KILN_API_TOKENS` and `KILN_API_TOKENS_FILE`
 * together; a bad pair is a ConfigError naming the variable (and the file's line), never the token.
 */
export function tenantTokensOf(
  env: TenantsConfig & { KILN_API_TOKEN?: string; KILN_READ_TOKEN?: string; KILN_ADMIN_TOKEN?: string },
): Map<string, string> {
  const pairs = [
    ...pairsOf(env.KILN_API_TOKENS?.split(",") ?? [], (i) => `KILN_API_TOKENS: pair ${i + 1}`),
    ...(env.KILN_API_TOKENS_FILE ? pairsOf(readTokenFile(env.KILN_API_TOKENS_FILE), (i) => `KILN_API_TOKENS_FILE: line ${i + 1}`) : []),
  ];
  const tokens = new Map<string, string>();
  const problems: string[] = [];
  for (const { tenant, value, where } of pairs) {
    const token = TokenValue.safeParse(value);
    if (!token.success) problems.push(`${where}: ${token.error.issues[0]!.message}`);
    else if (tokens.has(value) && tokens.get(value) !== tenant)
      problems.push(`${where}: the same token is bound to ${tokens.get(value)} too`);
    else tokens.set(value, tenant);
  }
  // a bound token that is also an unbound one would be matched as the unbound one, and see every tenant
  for (const name of ["KILN_API_TOKEN", "KILN_READ_TOKEN", "KILN_ADMIN_TOKEN"] as const) {
    const unbound = env[name];
    if (unbound !== undefined && tokens.has(unbound))
      problems.push(`KILN_API_TOKENS: a token of ${tokens.get(unbound)} is ${name} too; bound tokens must differ`);
  }
  if (problems.length > 0) throw configError(...problems);
  return tokens;
}

/**
 * `KILN_TENANT_WEBHOOK_SECRETS`: tenant → its `whsec_` secrets, newest first. A tenant named
 * again is a rotation: `studio:whsec_new,studio:whsec_old` signs with both, the pairs' order
 * being the secrets' (at most MAX_WEBHOOK_SECRETS each).
 */
export function tenantWebhookSecretsOf(env: TenantsConfig): Map<string, string[]> {
  const secrets = new Map<string, string[]>();
  const problems: string[] = [];
  for (const { tenant, value, where } of pairsOf(
    env.KILN_TENANT_WEBHOOK_SECRETS?.split(",") ?? [],
    (i) => `KILN_TENANT_WEBHOOK_SECRETS: pair ${i + 1}`,
  )) {
    const secret = WebhookSecret.safeParse(value);
    const held = secrets.get(tenant) ?? [];
    if (!secret.success) problems.push(`${where} (${tenant}): ${secret.error.issues[0]!.message}`);
    else if (held.includes(value)) problems.push(`${where}: ${tenant} has this secret already`);
    else if (held.length === MAX_WEBHOOK_SECRETS)
      problems.push(`${where}: ${tenant} has ${MAX_WEBHOOK_SECRETS} secrets already, the most a tenant may have`);
    else secrets.set(tenant, [...held, value]);
  }
  if (problems.length > 0) throw configError(...problems);
  return secrets;
}

/** A tenant's limits per period (`*`: every tenant without its own), as `KILN_TENANT_BUDGETS` sets them. */
export type TenantBudgetLimits = Map<string, Partial<Record<BudgetPeriod, DecimalAmount>>>;

/** `KILN_TENANT_BUDGETS`: tenant (or `*`) → period → limit; a bad entry is a ConfigError naming it. */
export function tenantBudgetsOf(env: TenantsConfig & { KILN_PRICES?: string }): TenantBudgetLimits {
  const budgets: TenantBudgetLimits = new Map();
  if (!env.KILN_TENANT_BUDGETS) return budgets;
  const problems: string[] = [];
  env.KILN_TENANT_BUDGETS.split(",").forEach((raw, index) => {
    const where = `KILN_TENANT_BUDGETS: entry ${index + 1}`;
    if (raw.trim() === "") return;
    const match = /^\s*([^/\s]+)\/(\w+)\s*=\s*(\S+)\s*$/.exec(raw);
    if (!match) {
      problems.push(`${where}: expected tenant/period=amount, such as studio/daily=50`);
      return;
    }
    const [, who = "", period = "", value = ""] = match;
    const tenant = who === "*" ? { success: true as const, data: "*" } : Tenant.safeParse(who);
    const amount = parseDecimal(value, 9);
    if (!tenant.success) problems.push(`${where}: tenant ${tenant.error.issues[0]!.message}`);
    else if (!BUDGET_PERIODS.includes(period as BudgetPeriod)) problems.push(`${where}: period must be ${BUDGET_PERIODS.join(" or ")}`);
    else if (amount === undefined || amount > parseDecimal(MAX_BUDGET)!)
      problems.push(`${where}: expected a decimal amount from 0 to ${MAX_BUDGET}, such as 25.00`);
    else {
      const limits = budgets.get(tenant.data) ?? {};
      if (limits[period as BudgetPeriod] !== undefined) problems.push(`${where}: ${tenant.data}/${period} is set already`);
      budgets.set(tenant.data, { ...limits, [period]: amount });
    }
  });
  if (budgets.size > 0 && !env.KILN_PRICES) problems.push("KILN_TENANT_BUDGETS: needs KILN_PRICES, the price table that prices each job");
  if (problems.length > 0) throw configError(...problems);
  return budgets;
}

/** The highest weight `KILN_TENANT_WEIGHTS` takes: shares of one in ten thousand are the finest that mean anything. */
const MAX_WEIGHT = 10_000;

/** `KILN_TENANT_WEIGHTS` and `KILN_TENANT_MAX_INFLIGHT`: how a contended cap is shared; a bad entry is a ConfigError naming it. */
export function tenantSharesOf(env: TenantsConfig): TenantShares {
  return {
    weights: numbersOf(
      "KILN_TENANT_WEIGHTS",
      env.KILN_TENANT_WEIGHTS,
      (n) => n > 0 && n <= MAX_WEIGHT,
      `a number above 0, at most ${MAX_WEIGHT}, such as 4`,
    ),
    caps: numbersOf(
      "KILN_TENANT_MAX_INFLIGHT",
      env.KILN_TENANT_MAX_INFLIGHT,
      (n) => Number.isInteger(n) && n >= 1,
      "a whole number of at least 1",
    ),
  };
}

/** `tenant=number,…` (`*` for every other tenant) into a map; `valid` decides each number. */
function numbersOf(name: string, raw: string | undefined, valid: (n: number) => boolean, expected: string): Map<string, number> {
  const values = new Map<string, number>();
  const problems: string[] = [];
  (raw ?? "").split(",").forEach((entry, index) => {
    if (entry.trim() === "") return;
    const where = `${name}: entry ${index + 1}`;
    const match = /^\s*([^=\s]+)\s*=\s*(\S+)\s*$/.exec(entry);
    const tenant = match?.[1] === "*" ? { success: true as const, data: "*" } : Tenant.safeParse(match?.[1]);
    const value = Number(match?.[2]);
    if (!match) problems.push(`${where}: expected tenant=value, such as studio=4`);
    else if (!tenant.success) problems.push(`${where}: tenant ${tenant.error.issues[0]!.message}`);
    else if (!/^\d+(\.\d+)?$/.test(match[2]!) || !valid(value)) problems.push(`${where}: expected ${expected}, got ${match[2]}`);
    else if (values.has(tenant.data)) problems.push(`${where}: ${tenant.data} is set already`);
    else values.set(tenant.data, value);
  });
  if (problems.length > 0) throw configError(...problems);
  return values;
}

/** `tenant:value` entries, blank ones and `#` comments skipped; a bad tenant is a ConfigError naming where. */
function pairsOf(entries: readonly string[], where: (index: number) => string): Array<{ tenant: string; value: string; where: string }> {
  const pairs: Array<{ tenant: string; value: string; where: string }> = [];
  const problems: string[] = [];
  entries.forEach((raw, index) => {
    const entry = raw.trim();
    if (entry === "" || entry.startsWith("#")) return;
    const colon = entry.indexOf(":");
    const tenant = Tenant.safeParse(colon < 0 ? "" : entry.slice(0, colon));
    if (colon < 0) problems.push(`${where(index)}: expected tenant:value`);
    else if (!tenant.success) problems.push(`${where(index)}: tenant ${tenant.error.issues[0]!.message}`);
    else pairs.push({ tenant: tenant.data, value: entry.slice(colon + 1).trim(), where: where(index) });
  });
  if (problems.length > 0) throw configError(...problems);
  return pairs;
}

function readTokenFile(path: string): string[] {
  try {
    return readFileSync(path, "utf8").split(/\r?\n/);
  } catch (err) {
    throw configError(`KILN_API_TOKENS_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
