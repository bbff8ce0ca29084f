import { z } from "zod";
import type { RedisConnection } from "../queue/redis.js";
import { BATCHES_QUEUE } from "../contract/queue-names.js";
import { formatDecimal, fromScaled, toScaledCeil, type DecimalAmount } from "./decimal-amount.js";

/**
 * The ledger keeps nano-units (10^-9) in Redis integers, which Lua reads as doubles: exact up
 * to 2^53 nano-units, about 9 million of the currency. Amounts are rounded up into it, so the
 * ledger errs towards stopping early, never late.
 */
const LEDGER_DECIMALS = 9;
/** The largest budget: well inside the ledger's exact range with room for what is spent past it. */
export const MAX_BUDGET = 1_000_000;
/** Ledger keys outlive the batch's parent job (kept 30 days after it completes). */
const LEDGER_TTL_SECONDS = 60 * 24 * 3600;
/** Expired holds are looked for at most this often, so a reservation does not read every hold each time. */
const DEFAULT_REAP_EVERY_MS = 60_000;

/**
 * Opens a batch's budget once: a re-run of the same manifest keeps the first limit and what
 * was spent against it.
 */
const OPEN = `
redis.call("HSETNX", KEYS[1], "limit", ARGV[1])
redis.call("HSETNX", KEYS[1], "currency", ARGV[2])
redis.call("HSETNX", KEYS[1], "spent", 0)
redis.call("HSETNX", KEYS[1], "reserved", 0)
redis.call("EXPIRE", KEYS[1], ARGV[3])
return redis.call("HGET", KEYS[1], "limit")`;

/**
 * Sets an account's limit to the operator's current one (a tenant's budget follows its
 * configuration), keeping what was spent and reserved. An exhausted account stays exhausted
 * unless the limit is raised above what it was and above what is spent and reserved.
 * ARGV: limit, currency, ttl seconds.
 */
const SET_LIMIT = `
local before = tonumber(redis.call("HGET", KEYS[1], "limit") or "0")
redis.call("HSET", KEYS[1], "limit", ARGV[1], "currency", ARGV[2])
redis.call("HSETNX", KEYS[1], "spent", 0)
redis.call("HSETNX", KEYS[1], "reserved", 0)
if redis.call("HGET", KEYS[1], "exhausted") == "1" and tonumber(ARGV[1]) > before then
  local used = tonumber(redis.call("HGET", KEYS[1], "spent")) + tonumber(redis.call("HGET", KEYS[1], "reserved"))
  if used < tonumber(ARGV[1]) then redis.call("HDEL", KEYS[1], "exhausted") end
end
redis.call("EXPIRE", KEYS[1], ARGV[3])
return 1`;

/**
 * Reserves a child's estimate, atomically across every worker process: refused (and the batch
 * marked exhausted, for good) once spent + reserved + this estimate would pass the limit. A
 * child that already holds a reservation keeps it (a re-run after a crash between reserve and
 * submit). Holds carry an expiry; expired ones are released here, so a child that never comes
 * back (its job removed) does not hold budget for ever.
 * KEYS: budget hash, holds hash. ARGV: child id, estimate ("" when the child has none: refused
 * on a budgeted batch), now ms, hold expiry ms, how often to look for expired holds (ms).
 */
const RESERVE = `
local limit = redis.call("HGET", KEYS[1], "limit")
if not limit then return "none" end
local held = redis.call("HGET", KEYS[2], ARGV[1])
if held and string.sub(held, 1, 2) == "h:" then return "reserved" end
if held == "s" then return "settled" end
if ARGV[2] == "" then return "unpriced" end
local now = tonumber(ARGV[3])
if now >= tonumber(redis.call("HGET", KEYS[1], "reapAt") or "0") then
  local holds = redis.call("HGETALL", KEYS[2])
  for i = 1, #holds, 2 do
    local amount, expires = string.match(holds[i + 1], "^h:(%d+):(%d+)$")
    if amount and tonumber(expires) <= now then
      redis.call("HINCRBY", KEYS[1], "reserved", "-" .. amount)
      redis.call("HSET", KEYS[2], holds[i], "x")
    end
  end
  redis.call("HSET", KEYS[1], "reapAt", tostring(now + tonumber(ARGV[5])))
end
if redis.call("HGET", KEYS[1], "exhausted") == "1" then return "exhausted" end
local spent = tonumber(redis.call("HGET", KEYS[1], "spent"))
local reserved = tonumber(redis.call("HGET", KEYS[1], "reserved"))
if spent + reserved + tonumber(ARGV[2]) > tonumber(limit) then
  redis.call("HSET", KEYS[1], "exhausted", "1")
  return "exhausted"
end
redis.call("HINCRBY", KEYS[1], "reserved", ARGV[2])
redis.call("HSET", KEYS[2], ARGV[1], "h:" .. ARGV[2] .. ":" .. ARGV[4])
redis.call("EXPIRE", KEYS[1], ${LEDGER_TTL_SECONDS})
redis.call("EXPIRE", KEYS[2], ${LEDGER_TTL_SECONDS})
return "reserved"`;

/**
 * Replaces a child's reservation with what it actually cost, once: a second settle of the same
 * child changes nothing. A child whose hold had expired is still charged what it spent.
 * KEYS: budget hash, holds hash, for each account the child is settled in (a tenant's periods
 * in one call). ARGV: child id, actual cost, or "held": what it reserved (a cost kiln cannot
 * know, counted at its estimate).
 */
const SETTLE = `
local settled = 0
for i = 1, #KEYS, 2 do
  local held = redis.call("HGET", KEYS[i + 1], ARGV[1])
  if held and held ~= "s" then
    local amount = string.match(held, "^h:(%d+):")
    if amount then redis.call("HINCRBY", KEYS[i], "reserved", "-" .. amount) end
    local spent = ARGV[2]
    if spent == "held" then spent = amount or "0" end
    redis.call("HINCRBY", KEYS[i], "spent", spent)
    redis.call("HSET", KEYS[i + 1], ARGV[1], "s")
    settled = settled + 1
  end
end
return settled`;

/**
 * What a reservation found: no budget on this batch, a hold taken (or kept), the budget spent,
 * the child already settled, or a budget the child cannot be charged against (no estimate).
 */
export type Reservation = "none" | "reserved" | "exhausted" | "settled" | "unpriced";

/** A batch's budget as the ledger holds it (amounts exact decimals). */
export const BudgetState = z.object({
  limit: z.string(),
  currency: z.string(),
  /** What the batch's finished jobs cost. */
  spent: z.string(),
  /** What its running jobs reserved, at their estimates. */
  reserved: z.string(),
  /** The budget ran out: the jobs not yet submitted end `budget_exhausted`. */
  exhausted: z.boolean(),
});
export type BudgetState = z.infer<typeof BudgetState>;

type Script = (...args: string[]) => Promise<unknown>;

/**
 * The budget ledger of an account: a batch (`<prefix>:batches:<batch id>:budget`) or a tenant's
 * period (`<prefix>:tenants:<tenant>:<period>:<id>:budget`). The hash holds limit, spent,
 * reserved and exhausted; `…:budget:holds` one field per job holding a reservation. Both keys
 * share the prefix's hash tag, so in a Redis Cluster they are in one slot and every update is
 * one atomic script.
 */
export class BudgetLedger {
  private readonly scripts: { open: Script; reserve: Script; settle: Script; setLimit: Script };

  /**
   * @param reapEveryMs how often a reservation looks for expired holds to release. @defaultValue 60000
   * @param keyOf an account's ledger key. @defaultValue the batch's, `<prefix>:batches:<id>:budget`
   */
  constructor(
    private readonly redis: RedisConnection,
    prefix: string,
    private readonly reapEveryMs = DEFAULT_REAP_EVERY_MS,
    private readonly keyOf: (account: string) => string = (batchId) => `${prefix}:${BATCHES_QUEUE}:${batchId}:budget`,
  ) {
    // keys undefined: the caller passes how many, first
    const define = (name: string, lua: string, keys: number | undefined): Script => {
      if (!(name in redis)) redis.defineCommand(name, keys === undefined ? { lua } : { numberOfKeys: keys, lua });
      return ((redis as unknown as Record<string, Script>)[name] as Script).bind(redis);
    };
    this.scripts = {
      open: define("kilnBudgetOpen", OPEN, 1),
      reserve: define("kilnBudgetReserve", RESERVE, 2),
      settle: define("kilnBudgetSettleEach", SETTLE, undefined),
      setLimit: define("kilnBudgetSetLimit", SET_LIMIT, 1),
    };
  }

  /** Sets the batch's limit unless it has one already; resolves with the limit in force. */
  async open(batchId: string, limit: DecimalAmount, currency: string): Promise<string> {
    const units = await this.scripts.open(this.key(batchId), nano(limit), currency, String(LEDGER_TTL_SECONDS));
    return formatDecimal(fromScaled(BigInt(String(units)), LEDGER_DECIMALS));
  }

  /** Sets the account's limit to `limit` whatever it was, keeping what was spent and reserved. */
  async setLimit(account: string, limit: DecimalAmount, currency: string): Promise<void> {
    await this.scripts.setLimit(this.key(account), nano(limit), currency, String(LEDGER_TTL_SECONDS));
  }

  /** Reserves `estimate` for `childId` until `expiresAt` (ms); see RESERVE. Undefined `estimate`: the child cannot be priced. */
  async reserve(batchId: string, childId: string, estimate: DecimalAmount | undefined, expiresAt: number): Promise<Reservation> {
    const answer = await this.scripts.reserve(
      this.key(batchId),
      this.holdsKey(batchId),
      childId,
      estimate === undefined ? "" : nano(estimate),
      String(Date.now()),
      String(Math.ceil(expiresAt)),
      String(this.reapEveryMs),
    );
    return answer as Reservation;
  }

  /**
   * Charges `childId` what it cost (0 when it produced nothing billable) in place of its
   * reservation; `"held"` charges the reservation itself (what a submit of unknown outcome may have cost).
   */
  async settle(batchId: string, childId: string, actual: DecimalAmount | "held"): Promise<void> {
    await this.settleEach([batchId], childId, actual);
  }

  /** `settle` in each of `accounts`, in one script call. */
  async settleEach(accounts: readonly string[], childId: string, actual: DecimalAmount | "held"): Promise<void> {
    const keys = accounts.flatMap((account) => [this.key(account), this.holdsKey(account)]);
    await this.scripts.settle(String(keys.length), ...keys, childId, actual === "held" ? actual : nano(actual));
  }

  /** The batch's budget, or undefined when it has none. */
  async read(batchId: string): Promise<BudgetState | undefined> {
    const fields = await this.redis.hgetall(this.key(batchId));
    if (fields.limit === undefined) return undefined;
    const amount = (field: string | undefined) => formatDecimal(fromScaled(BigInt(field ?? "0"), LEDGER_DECIMALS));
    return {
      limit: amount(fields.limit),
      currency: fields.currency ?? "",
      spent: amount(fields.spent),
      reserved: amount(fields.reserved),
      exhausted: fields.exhausted === "1",
    };
  }

  private key(account: string): string {
    return this.keyOf(account);
  }

  private holdsKey(batchId: string): string {
    return `${this.key(batchId)}:holds`;
  }
}

function nano(amount: DecimalAmount): string {
  return String(toScaledCeil(amount, LEDGER_DECIMALS));
}
