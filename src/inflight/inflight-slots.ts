import type { RedisConnection } from "../queue/redis.js";
import { envModelName } from "./env-model-name.js";
import { DEFAULT_TENANT } from "../contract/tenant.js";

/** Caps on provider tasks in flight at once, shared by every worker process. */
export interface InflightCaps {
  /** Across all of the provider's models (`KILN_<PROVIDER>_MAX_INFLIGHT`). */
  provider?: number;
  /** Per model, keyed by the model's env name (`KILN_<PROVIDER>_MAX_INFLIGHT_<MODEL>`). */
  models: ReadonlyMap<string, number>;
  /** How the capacity is shared between tenants (`KILN_TENANT_WEIGHTS`, `KILN_TENANT_MAX_INFLIGHT`). @defaultValue equal weights, no tenant caps */
  tenants?: TenantShares;
  /** The provider's requests at most per window, submits and polls together (`KILN_<PROVIDER>_RATE`). @defaultValue none */
  rate?: {
    max: number;
    windowMs: number;
    /**
     * In the line of polls a full window refused, how much later a hopeless poll (chance 0 of
     * finding its task done) stands than a sure one (chance 1) refused at the same moment.
     * @defaultValue POLL_PRECEDENCE_MS
     */
    precedenceMs?: number;
  };
}

/** Weights and caps per tenant; `*` stands for every tenant without its own. */
export interface TenantShares {
  /** A tenant's share of a contended cap, relative to the others' (`KILN_TENANT_WEIGHTS`). @defaultValue 1 each */
  weights: ReadonlyMap<string, number>;
  /** The most tasks a tenant has in flight at one provider (`KILN_TENANT_MAX_INFLIGHT`). @defaultValue none */
  caps: ReadonlyMap<string, number>;
}

/** One tenant's slots at one provider: held now (handed ones included), and jobs waiting for one. */
export interface TenantSlotUsage {
  tenant: string;
  inUse: number;
  waiting: number;
}

/** One in-flight cap now: `model` is `*` for the provider-wide cap, else the model's env name. */
export interface SlotScopeUsage {
  model: string;
  cap: number;
  inUse: number;
  waiting: number;
}

/** What a poll's `request` for room in the rate's window found. */
export interface RateRoom {
  /** 0 when the poll took its room (or no rate applies), else the ms until the window has some. */
  waitMs: number;
  /** When it took room behind a rate: the share of the window still free after it, 0–1. */
  spare?: number;
}

/** What `acquire` found: whether the job holds a slot, and waiters just handed one, to wake. */
export interface SlotAnswer {
  held: boolean;
  granted: string[];
}

// One script for every operation, so taking, giving back and handing over slots are atomic.
//
// Keys (all under one hash tag): KEYS[1] grants hash, KEYS[2] arrival counter, KEYS[3] the
// provider's holders, KEYS[4] the provider-wide lane base, then per capped model its holders
// and its lane base. Holders are sorted sets of job ids scored by when their lease ends; every
// slot is in the provider's holders, in its model's when the model is capped, and in its
// tenant's (`<P>:tenant:<t>`). A lane is a sorted set of one tenant's waiting job ids scored by
// enqueue time (ms, plus arrival order within the ms): the default tenant's is the lane base
// itself (the key every earlier version used), another tenant's is `<base>:<tenant>`. A job
// waits in one lane: its model's when the model is capped, else the provider-wide one.
//
// Fair shares: tenants with waiting jobs sit in a ring (`<P>:tenants`) scored by their pass;
// each slot handed to a tenant advances its pass by 1/weight, and the free slot goes to the
// tenant of lowest pass whose oldest fitting job fits every cap (stride scheduling, FIFO within
// a tenant). A tenant joins the ring at no less than the virtual time (the pass last served), so
// idle time earns no credit and a newcomer is served next. A tenant alone takes every slot.
// Passes and the virtual time (`*`) are in `<P>:passes`, a tenant's only while it holds or waits
// (so its size is the number of tenants at work, whatever ids producers invent); `<P>:owners`
// names each job's tenant.
//
// A held slot is a lease: once it ends, the holder is a suspect that the sweep checks against
// its BullMQ job (SlotHandoff) and either renews (`renew`) or takes back (`reclaim`, which only
// acts while the lease is still over, so a job that claimed the slot again in the meantime
// keeps it). Nothing here drops a holder on its own: Redis cannot see whether the job still
// waits on its task. Every call hands free slots to waiters that fit, so no head that could
// run is ever left waiting (the invariant that makes "an arriving job takes a free slot only
// when its lane is empty" fair). A handed slot (a grant) lapses after the grant TTL if its job
// never comes to claim it (the waker crashed before promoting it); the job then goes back to
// the head of its lane, its tenant's pass is refunded, and whoever runs the script wakes it.
//
// A provider's rate (`KILN_<PROVIDER>_RATE`) is a sliding window of its requests (`<P>:rate`, each
// scored by when it was made): at most `rateMax` in any `rateWindow` ms. A poll takes room in it
// whenever there is some (`request`), but while submits wait it leaves them SUBMIT_SHARE of the
// window, and while polls wait submits leave a place for each, up to the rest; a submit takes
// room only through the lanes above, so behind a rate the waiting tenants share the submits'
// room as they share slots. Between tenants waiting to submit, polls count too: a poll of one
// is charged to its pass and yields to a tenant behind it that could submit, whose submits keep
// no place for the polls in line of tenants ahead of it (each refused poll also stands in its
// tenant's line). Behind a rate alone, a job that may submit holds nothing afterwards.
//
// ARGV: now, provider cap (0: none), the model caps, grant TTL, op, job id, lane (0: provider-wide,
// i: model i), enqueued at (for `request`: how far back in the line of refused polls it stands,
// ms), lease end, tenant, the default tenant, weights and tenant caps
// (`name=value,...`, `*` for the rest), rate max (0: none) and window. Returns {held or reclaimed
// (0/1; for a sweep, whether anyone waits), granted ids...}, or for `request` {ms until room} when
// refused, {0, requests the window still has room for, 0 while submits wait} when taken.
/**
 * Behind a provider's rate, the share of its window kept for submits while submits and polls
 * both wait: a quarter (5 of TokenHub's 20 requests/s), floored to whole requests (none below a
 * rate of 4). Polls get a place each, up to the rest; either takes the whole window while the
 * other does not wait. A third was tried: an interactive tenant asking 20 submits a second
 * behind a rate of 40 waited less (bench row fairness-rate, p95 0.93 s against 1.07), but polls
 * backed up behind a bulk of 2,000 videos detected their tasks far later (detection-rate, p95
 * 28.6 s against 8.3).
 */
export const SUBMIT_SHARE = 0.25;
/**
 * Polls a full window refused wait in line by when they were refused, each moved back by
 * (1 − its chance of finding its task done) × this: the window's room goes first to polls near
 * their task's expected finish, and a poll that only learns the progress waits at most this
 * much longer than in arrival order.
 */
export const POLL_PRECEDENCE_MS = 15_000;
/** A refused poll not back for its turn this long has left the line (its job ended). */
const POLL_LINE_TTL_MS = 30_000;
/** A poll may go while this many polls ahead of it in line are not back yet (late, or gone). */
const POLL_LINE_SLACK = 2;

const SLOTS = `
local now = tonumber(ARGV[1])
local capP = tonumber(ARGV[2])
local n = (#KEYS - 4) / 2
local grantTtl = tonumber(ARGV[3 + n])
local op, jobId, lane = ARGV[4 + n], ARGV[5 + n], tonumber(ARGV[6 + n])
local leaseEnd, tenant, defaultTenant = ARGV[8 + n], ARGV[9 + n], ARGV[10 + n]
local G, SEQ, P = KEYS[1], KEYS[2], KEYS[3]
local RING, PASS, OWNER = P .. ':tenants', P .. ':passes', P .. ':owners'
local function parse(s)
  local t = {}
  for k, v in string.gmatch(s, '([^,=]+)=([^,]+)') do t[k] = tonumber(v) end
  return t
end
local weights, tenantCaps = parse(ARGV[11 + n]), parse(ARGV[12 + n])
local rateMax, rateWindow = tonumber(ARGV[13 + n]), tonumber(ARGV[14 + n])
local RATE = P .. ':rate'
-- The window's requests, and its submits apart. While submits wait (a tenant in the ring) polls
-- leave them SUBMIT_SHARE of the window; while polls wait (in line) submits leave a place for
-- each of them, up to the rest. Either takes the whole window when the other does not wait.
-- Refused polls wait in line (\`WAITING\`, by when they were first refused, moved back the less
-- likely they are to find their task done) and are told when their turn should come, so they
-- neither spin on a full window nor lose their place to polls that fell due after them.
local RATE_S, WAITING = RATE .. ':submits', RATE .. ':polls'
-- with tenants, each refused poll also stands in its tenant's line (\`POLLERS\`: tenants with one).
-- The lines are trimmed by the tenant that adds to them and read without their stale polls, so
-- no call walks every tenant's line to trim it
local POLLERS = RATE .. ':pollers'
local function pollLine(t) return WAITING .. ':' .. t end
local staleBefore = now - ${POLL_LINE_TTL_MS}
-- the polls in u's line, those given up left out; a line with none left goes
local function inLineOf(u)
  local c = redis.call('ZCOUNT', pollLine(u), '(' .. staleBefore, '+inf')
  if c == 0 then
    redis.call('DEL', pollLine(u))
    redis.call('SREM', POLLERS, u)
  end
  return c
end
local reserve = math.floor(rateMax * ${SUBMIT_SHARE})
local function passOf(t) return tonumber(redis.call('HGET', PASS, t) or '0') end
-- the pass t is served at now: its own while it waits, else at least the last one served
local function servedAt(t)
  if redis.call('ZSCORE', RING, t) then return passOf(t) end
  return math.max(passOf(t), passOf('*'))
end
-- polls in line of tenants ahead of t in the fair share (waiting to submit too, with a higher
-- pass): t's submits leave them no place, as their polls leave t's submits the room (\`request\`)
local function pollsAheadOf(t)
  local c, pt = 0, servedAt(t)
  -- looked for among whichever are fewer: the tenants ahead in the ring (the bound spelled with
  -- every digit: Lua's own spelling keeps 14), or those with polls in line
  local above = '(' .. string.format('%.17g', pt)
  local ahead = redis.call('ZCOUNT', RING, above, '+inf') <= redis.call('SCARD', POLLERS)
  local candidates = ahead and redis.call('ZRANGEBYSCORE', RING, above, '+inf') or redis.call('SMEMBERS', POLLERS)
  for _, u in ipairs(candidates) do
    local s = u ~= t and redis.call('ZSCORE', RING, u)
    if s and tonumber(s) > pt and redis.call('SISMEMBER', POLLERS, u) == 1 then c = c + inLineOf(u) end
  end
  return c
end
-- room for one more request of this kind (a submit: of tenant t): 0 and the free places, or the
-- ms until there is room
local trimmed = false
local function roomIn(kind, t)
  if rateMax == 0 then return 0, 1 end
  -- once per call of the script: \`now\` does not move, and nothing it adds is that old
  if not trimmed then
    trimmed = true
    redis.call('ZREMRANGEBYSCORE', RATE, '-inf', now - rateWindow)
    redis.call('ZREMRANGEBYSCORE', RATE_S, '-inf', now - rateWindow)
    -- a poll in line that long was given up (its job ended): it no longer holds a place
    redis.call('ZREMRANGEBYSCORE', WAITING, '-inf', staleBefore)
    -- and one tenant with polls in line looked at: a tenant gone quiet leaves \`POLLERS\` in time
    local u = redis.call('SRANDMEMBER', POLLERS)
    if u then inLineOf(u) end
  end
  local count, submits = redis.call('ZCARD', RATE), redis.call('ZCARD', RATE_S)
  local held = 0
  if kind == 'poll' and redis.call('EXISTS', RING) == 1 then held = math.max(0, reserve - submits) end
  if kind == 'submit' then
    -- a place for each poll in line, up to the polls' share: room beyond it would go unused
    -- until those polls' turns come (a submit then fills it)
    local inLine = math.max(0, redis.call('ZCARD', WAITING) - pollsAheadOf(t))
    held = math.min(inLine, math.max(0, rateMax - reserve - (count - submits)))
  end
  local limit = rateMax - held
  if count < limit then return 0, limit - count end
  local leaving = redis.call('ZRANGE', RATE, count - limit, count - limit, 'WITHSCORES')
  return math.max(1, tonumber(leaving[2]) + rateWindow - now), 0
end
local function spend(id, kind)
  if rateMax == 0 then return end
  local member = id .. '@' .. redis.call('INCR', SEQ)
  redis.call('ZADD', RATE, now, member)
  if kind == 'submit' then redis.call('ZADD', RATE_S, now, member) end
end
local function weightOf(t) return weights[t] or weights['*'] or 1 end
local function laneKey(i, t)
  local base = i == 0 and KEYS[4] or KEYS[4 + 2 * i]
  if t == defaultTenant then return base end
  return base .. ':' .. t
end
local function heldBy(t) return P .. ':tenant:' .. t end
local function scopes(i, t)
  local s = { { P, capP } }
  if i > 0 then s[#s + 1] = { KEYS[3 + 2 * i], tonumber(ARGV[2 + i]) } end
  s[#s + 1] = { heldBy(t), tenantCaps[t] or tenantCaps['*'] or 0 }
  return s
end
local function fits(i, t, id)
  for _, s in ipairs(scopes(i, t)) do
    if s[2] > 0 and not (id and redis.call('ZSCORE', s[1], id)) and redis.call('ZCARD', s[1]) >= s[2] then return false end
  end
  return true
end
local function waits(t)
  for i = 0, n do if redis.call('EXISTS', laneKey(i, t)) == 1 then return true end end
  return false
end
local function join(t)
  if not redis.call('ZSCORE', RING, t) then
    local p = math.max(passOf(t), passOf('*'))
    redis.call('HSET', PASS, t, p)
    redis.call('ZADD', RING, p, t)
  end
end
local function leaveIfIdle(t)
  if waits(t) then return end
  redis.call('ZREM', RING, t)
  if redis.call('EXISTS', heldBy(t)) == 0 then redis.call('HDEL', PASS, t) end
end
local function charge(t)
  local p = servedAt(t)
  if p > passOf('*') then redis.call('HSET', PASS, '*', p) end
  redis.call('HSET', PASS, t, p + 1 / weightOf(t))
  if redis.call('ZSCORE', RING, t) then redis.call('ZADD', RING, p + 1 / weightOf(t), t) end
end
local function leaveAll(id)
  local t = redis.call('HGET', OWNER, id) or defaultTenant
  redis.call('ZREM', P, id)
  for i = 1, n do redis.call('ZREM', KEYS[3 + 2 * i], id) end
  redis.call('ZREM', heldBy(t), id)
  for i = 0, n do redis.call('ZREM', laneKey(i, t), id) end
  redis.call('HDEL', G, id)
  redis.call('HDEL', OWNER, id)
  -- its owner's line, or the tenant its release names (an owner is not kept behind a rate
  -- alone), or, neither known, whichever line holds it
  if
    redis.call('ZREM', WAITING, id) == 1
    and redis.call('ZREM', pollLine(t), id) == 0
    and (tenant == t or redis.call('ZREM', pollLine(tenant), id) == 0)
  then
    for _, u in ipairs(redis.call('SMEMBERS', POLLERS)) do redis.call('ZREM', pollLine(u), id) end
  end
  leaveIfIdle(t)
end
-- A poll of a tenant that also waits to submit yields the window to a tenant behind it in the
-- fair share (a lower pass) whose next job could submit now, and is charged to its tenant's pass
-- when it goes: behind a rate, weights share the requests, polls included.
local function yieldsTo(t)
  local pt = redis.call('ZSCORE', RING, t)
  if not pt then return false end
  for _, u in ipairs(redis.call('ZRANGEBYSCORE', RING, '-inf', '(' .. pt)) do
    for i = 0, n do
      if redis.call('EXISTS', laneKey(i, u)) == 1 and fits(i, u) then return true end
    end
  end
  return false
end
if op == 'request' then
  if rateMax == 0 then return { 0 } end
  local wait, free = roomIn('poll')
  -- its place in line: when it was first refused, moved back the less likely it is to find its task done
  local place = now + tonumber(ARGV[7 + n])
  local rank = redis.call('ZRANK', WAITING, jobId)
  local ahead = rank or redis.call('ZCOUNT', WAITING, '-inf', place)
  if wait == 0 and ahead < free + ${POLL_LINE_SLACK} and not yieldsTo(tenant) then
    spend(jobId, 'poll')
    if rank then
      redis.call('ZREM', WAITING, jobId)
      redis.call('ZREM', pollLine(tenant), jobId)
    end
    -- a single tenant's polls compete with its own submits only (SUBMIT_SHARE): no pass to keep
    if redis.call('ZCARD', RING) > 1 and redis.call('ZSCORE', RING, tenant) then charge(tenant) end
    -- and how many requests the window still has room for after it that no submit waits for: what
    -- the poll schedule may spend (while submits wait, the room is theirs as soon as it frees)
    if redis.call('EXISTS', RING) == 1 then return { 0, 0 } end
    return { 0, math.max(0, free - 1) }
  end
  if not rank then
    redis.call('ZADD', WAITING, place, jobId)
    redis.call('ZREMRANGEBYSCORE', pollLine(tenant), '-inf', staleBefore)
    redis.call('ZADD', pollLine(tenant), place, jobId)
    redis.call('SADD', POLLERS, tenant)
    -- a tenant gone quiet leaves no line behind: it expires once its last poll is stale
    local keep = place + ${POLL_LINE_TTL_MS} - now
    if redis.call('PTTL', pollLine(tenant)) < keep then redis.call('PEXPIRE', pollLine(tenant), keep) end
  end
  -- its turn: after the polls ahead of it, at the pace the window lets polls through (one that
  -- yielded with room free: after one poll's pace, once the room went to the tenant behind)
  local pace = rateWindow / math.max(1, rateMax - reserve)
  if wait > 0 then return { wait + math.floor(ahead * pace) } end
  return { math.max(1, math.floor(pace), math.floor((ahead - free + 1) * pace)) }
end
local granted = { 0 }
if op == 'release' then leaveAll(jobId) end
if op == 'reclaim' and redis.call('HEXISTS', G, jobId) == 0 then
  local lapsed = false
  local keys = { heldBy(redis.call('HGET', OWNER, jobId) or defaultTenant) }
  for k = 3, #KEYS, 2 do keys[#keys + 1] = KEYS[k] end
  for _, key in ipairs(keys) do
    local score = redis.call('ZSCORE', key, jobId)
    if score then
      if tonumber(score) > now then lapsed = false break end
      lapsed = true
    end
  end
  if lapsed then leaveAll(jobId) granted[1] = 1 end
end
if op == 'renew' and redis.call('HEXISTS', G, jobId) == 0 then
  local keys = { heldBy(redis.call('HGET', OWNER, jobId) or defaultTenant) }
  for k = 3, #KEYS, 2 do keys[#keys + 1] = KEYS[k] end
  for _, key in ipairs(keys) do
    if redis.call('ZSCORE', key, jobId) then redis.call('ZADD', key, leaseEnd, jobId) end
  end
end
-- a grant not claimed in time goes back to the head of its lane, its tenant's pass given back
local function requeue(id, grant)
  local score, key = string.match(grant, '^([^|]+)|(.*)$')
  local t = redis.call('HGET', OWNER, id) or defaultTenant
  leaveAll(id)
  redis.call('ZADD', key, score, id)
  redis.call('HSET', OWNER, id, t)
  join(t)
  local p = passOf(t) - 1 / weightOf(t)
  redis.call('HSET', PASS, t, p)
  redis.call('ZADD', RING, p, t)
end
for k = 3, #KEYS, 2 do
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[k], '-inf', now)) do
    local grant = redis.call('HGET', G, id)
    if grant then requeue(id, grant) end
  end
end
-- the default tenant's lane is also an earlier version's, which knows no ring
if waits(defaultTenant) then join(defaultTenant) else leaveIfIdle(defaultTenant) end
-- behind a rate, a few submits per call (one per 20 ms of the rate): the pump calls that often,
-- so submits come evenly and a poll that falls due finds room between them
local perCall = rateMax > 0 and math.max(1, math.ceil(rateMax * 20 / rateWindow)) or 1000
local rateBound = false
for _ = 1, 1000 do
  if capP > 0 and redis.call('ZCARD', P) >= capP then break end
  if #granted > perCall then
    rateBound = rateMax > 0
    break
  end
  local best, bestT, bestId, bestScore
  local blocked = {}
  for _, t in ipairs(redis.call('ZRANGE', RING, 0, -1)) do
    for i = 0, n do
      local head = redis.call('ZRANGE', laneKey(i, t), 0, 0, 'WITHSCORES')
      if head[1] and (not best or tonumber(head[2]) < tonumber(bestScore)) and fits(i, t) then
        best, bestId, bestScore = i, head[1], head[2]
      end
    end
    if best then bestT = t break end
    blocked[#blocked + 1] = t
  end
  if not best then break end
  if roomIn('submit', bestT) > 0 then
    rateBound = rateMax > 0
    break
  end
  redis.call('ZREM', laneKey(best, bestT), bestId)
  for _, s in ipairs(scopes(best, bestT)) do redis.call('ZADD', s[1], now + grantTtl, bestId) end
  redis.call('HSET', G, bestId, bestScore .. '|' .. laneKey(best, bestT))
  redis.call('HSET', OWNER, bestId, bestT)
  spend(bestId, 'submit')
  -- a tenant passed over because none of its jobs fits (a full model) earns no credit meanwhile
  local served = passOf(bestT)
  for _, t in ipairs(blocked) do
    if passOf(t) < served then
      redis.call('HSET', PASS, t, served)
      redis.call('ZADD', RING, served, t)
    end
  end
  charge(bestT)
  leaveIfIdle(bestT)
  granted[#granted + 1] = bestId
end
-- the pump goes on only while the rate holds submits back: a cap's line moves with releases
if op == 'sweep' and rateBound and redis.call('EXISTS', RING) == 1 then granted[1] = 1 end
if op ~= 'acquire' then return granted end
local mine = scopes(lane, tenant)
local myLane = laneKey(lane, tenant)
-- held or handed: in the provider's holders and its model's (the tenant's are added if missing:
-- an earlier version hands slots without them)
local holds = true
for k = 1, #mine - 1 do
  if not redis.call('ZSCORE', mine[k][1], jobId) then holds = false end
end
-- behind a rate alone, a job holds nothing once it may submit: the window counts its request
local capless = capP == 0 and lane == 0 and mine[#mine][2] == 0
redis.call('HSET', OWNER, jobId, tenant)
-- a grant claimed after its room has left the window (its job was held up: a 429's pause, busy
-- workers) needs room again, or goes back to the head of its lane
local grant = redis.call('HGET', G, jobId)
if holds and grant and rateMax > 0 and now - (tonumber(redis.call('ZSCORE', P, jobId)) - grantTtl) >= rateWindow then
  if roomIn('submit', tenant) == 0 then
    spend(jobId, 'submit')
  else
    requeue(jobId, grant)
    holds = false
  end
end
if holds or (fits(lane, tenant, jobId) and redis.call('ZCARD', myLane) == 0 and roomIn('submit', tenant) == 0) then
  if not holds then
    charge(tenant)
    spend(jobId)
  end
  for _, s in ipairs(mine) do
    if capless then redis.call('ZREM', s[1], jobId) else redis.call('ZADD', s[1], leaseEnd, jobId) end
  end
  redis.call('HDEL', G, jobId)
  redis.call('ZREM', myLane, jobId)
  if capless then
    redis.call('HDEL', OWNER, jobId)
    leaveIfIdle(tenant)
  end
  granted[1] = 1
elseif not redis.call('ZSCORE', myLane, jobId) then
  join(tenant)
  redis.call('ZADD', myLane, tonumber(ARGV[7 + n]) + (redis.call('INCR', SEQ) % 1024) / 1024, jobId)
end
return granted`;

/** How long a slot handed to a waiting job stays reserved for it before it is handed again. @defaultValue 60 s */
export const DEFAULT_GRANT_TTL_MS = 60_000;

/**
 * How long a held slot goes unchecked (`KILN_SLOT_LEASE`): then the sweep asks whether its job
 * still waits on its task, and takes the slot back when not. @defaultValue 25 s
 */
export const DEFAULT_SLOT_LEASE_MS = 25_000;

/**
 * In-flight slots of one provider, in Redis: taken before submit, given back at the task's
 * terminal status, failure or deadline. A job that finds its scope full waits in a lane, in
 * enqueue order, and is handed a slot when one frees: the caller wakes the jobs each call
 * returns in `granted`. Keys live under the un-partitioned `KILN_PREFIX` (`{kiln}:inflight:...`),
 * a hash tag of their own: the script's keys share one Redis Cluster slot, and the caps hold
 * across every partition. Waking the BullMQ jobs (in their partitions) is a separate call.
 */
export class InflightSlots {
  private readonly modelNames: string[];
  private readonly weights: string;
  private readonly tenantCaps: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly provider: string,
    private readonly caps: InflightCaps,
    private readonly grantTtlMs = DEFAULT_GRANT_TTL_MS,
    /** How long a held slot goes unchecked, and how often the head of a line looks again by itself. */
    readonly leaseMs = DEFAULT_SLOT_LEASE_MS,
  ) {
    // every process must number the lanes alike: sorted names, not the environment's order
    this.modelNames = [...caps.models.entries()]
      .filter(([, cap]) => cap > 0)
      .map(([name]) => name)
      .sort();
    this.weights = listOf(caps.tenants?.weights);
    this.tenantCaps = listOf(caps.tenants?.caps);
  }

  /**
   * `held` when `jobId` now holds a slot (or already did, or was handed one), its lease renewed;
   * otherwise the job waits in its tenant's lane, ordered by `enqueuedAt`, until a release hands
   * it a slot in its tenant's turn.
   */
  async acquire(jobId: string, modelId: string, enqueuedAt: number, tenant = DEFAULT_TENANT): Promise<SlotAnswer> {
    if (this.uncapped(modelId, tenant)) return { held: true, granted: [] };
    const [held, ...granted] = await this.run("acquire", jobId, this.laneOf(modelId), enqueuedAt, tenant);
    return { held: held === 1, granted: granted as string[] };
  }

  /** Holders whose lease is over (grants excepted: they lapse by themselves): each to be checked, then renewed or reclaimed. */
  async lapsed(): Promise<string[]> {
    if (!this.capped()) return [];
    const now = Date.now();
    // a tenant's holders too: an earlier version gives slots back without leaving them
    const tenants = (await this.redis.hkeys(`${this.providerKey()}:passes`)).filter((tenant) => tenant !== "*");
    const keys = [this.providerKey(), ...this.modelNames.map((name) => this.modelKey(name)), ...tenants.map((t) => this.tenantKey(t))];
    const ids = [...new Set((await Promise.all(keys.map((key) => this.redis.zrangebyscore(key, "-inf", now)))).flat())];
    if (ids.length === 0) return [];
    const grants = await this.redis.hmget(`${this.providerKey()}:grants`, ...ids);
    return ids.filter((_, i) => grants[i] === null);
  }

  /** Extends `jobId`'s lease (when it still holds a slot): its job was found still waiting on its task. */
  async renew(jobId: string): Promise<void> {
    if (this.capped()) await this.run("renew", jobId);
  }

  /**
   * Takes back `jobId`'s slot if its lease is still over (a job that claimed it again since it
   * was found lapsed keeps it). Returns whether it was taken back and the waiters handed a slot.
   */
  async reclaim(jobId: string): Promise<{ reclaimed: boolean; granted: string[] }> {
    if (!this.capped()) return { reclaimed: false, granted: [] };
    const [reclaimed, ...granted] = await this.run("reclaim", jobId);
    return { reclaimed: reclaimed === 1, granted: granted as string[] };
  }

  /**
   * Gives back the job's slot or its place in a lane (and in the line of refused polls, found
   * by `tenant`, the job's); returns the waiters handed a slot, to wake.
   */
  async release(jobId: string, tenant = DEFAULT_TENANT): Promise<string[]> {
    if (!this.capped()) return [];
    return (await this.run("release", jobId, 0, 0, tenant)).slice(1) as string[];
  }

  /**
   * Drops lapsed slots and hands free ones (and the rate's room) over, also to jobs whose earlier
   * wake-up was lost; returns whom to wake, and whether jobs still wait.
   */
  async sweep(): Promise<{ granted: string[]; waiting: boolean }> {
    if (!this.capped()) return { granted: [], waiting: false };
    const [waiting, ...granted] = await this.run("sweep", "");
    return { granted: granted as string[], waiting: waiting === 1 };
  }

  /**
   * Takes room for one provider request other than a submit (a poll) in the rate's window:
   * `waitMs` 0 when taken (or no rate applies), else the ms until the window has room. Polls
   * never queue behind waiting submits. When taken behind a rate, `spare` is the share of the
   * window still free after this request (0–1), and 0 while submits wait: that room is theirs.
   * `chance`: how likely the poll is to find its task done; refused, it stands in line
   * (1 − chance) × `precedenceMs` behind its arrival. `tenant`: whose poll it is; while that
   * tenant also waits to submit, the poll counts in its fair share of the window.
   */
  async request(jobId: string, tenant = DEFAULT_TENANT, chance = 0.5): Promise<RateRoom> {
    if (!this.caps.rate) return { waitMs: 0 };
    const behind = Math.round((1 - Math.min(1, Math.max(0, chance))) * (this.caps.rate.precedenceMs ?? POLL_PRECEDENCE_MS));
    const [waitMs, free] = await this.run("request", jobId, 0, behind, tenant);
    return free === undefined ? { waitMs: Number(waitMs) } : { waitMs: 0, spare: Number(free) / this.caps.rate.max };
  }

  /** True when `jobId` holds a slot or was handed one. */
  async holds(jobId: string): Promise<boolean> {
    const keys = [this.providerKey(), ...this.modelNames.map((name) => this.modelKey(name))];
    const scores = await Promise.all(keys.map((key) => this.redis.zscore(key, jobId)));
    return scores.some((s) => s !== null);
  }

  /** How many slots are taken now (handed ones included; lapsed ones until the sweep reclaims them). */
  async inUse(modelId?: string): Promise<number> {
    return this.redis.zcard(modelId ? this.modelKey(envModelName(modelId)) : this.providerKey());
  }

  /**
   * Each cap's slots taken now (handed ones included) and jobs waiting in its lanes: the
   * provider-wide cap as model `*`, then each capped model by its env name. Empty when uncapped.
   */
  async usage(): Promise<SlotScopeUsage[]> {
    const tenants = await this.waitingTenants();
    const scopes = [
      ...(this.caps.provider ? [{ model: "*", cap: this.caps.provider, key: this.providerKey(), lane: this.laneKey() }] : []),
      ...this.modelNames.map((name) => ({
        model: name,
        cap: this.caps.models.get(name) ?? 0,
        key: this.modelKey(name),
        lane: this.laneKey(name),
      })),
    ];
    return Promise.all(
      scopes.map(async ({ model, cap, key, lane }) => {
        const [inUse, ...waiting] = await Promise.all([
          this.redis.zcard(key),
          ...tenants.map((tenant) => this.redis.zcard(this.tenantLane(lane, tenant))),
        ]);
        return { model, cap, inUse, waiting: waiting.reduce((a, b) => a + b, 0) };
      }),
    );
  }

  /** Each tenant's slots held and jobs waiting at this provider: the tenants holding or waiting now. */
  async tenants(): Promise<TenantSlotUsage[]> {
    if (!this.capped()) return [];
    const known = (await this.redis.hkeys(`${this.providerKey()}:passes`)).filter((tenant) => tenant !== "*");
    const usage = await Promise.all(
      known.map(async (tenant) => {
        const [inUse, ...waiting] = await Promise.all([
          this.redis.zcard(this.tenantKey(tenant)),
          ...this.laneKeys().map((lane) => this.redis.zcard(this.tenantLane(lane, tenant))),
        ]);
        return { tenant, inUse, waiting: waiting.reduce((a, b) => a + b, 0) };
      }),
    );
    return usage.filter((u) => u.inUse > 0 || u.waiting > 0).sort((a, b) => a.tenant.localeCompare(b.tenant));
  }

  /** How many jobs wait for a slot, in every lane of every tenant. */
  async waiting(): Promise<number> {
    const tenants = await this.waitingTenants();
    const lanes = this.laneKeys().flatMap((lane) => tenants.map((tenant) => this.tenantLane(lane, tenant)));
    const counts = await Promise.all(lanes.map((key) => this.redis.zcard(key)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** How many jobs of its own tenant wait ahead of `jobId`; 0 when it waits in no lane (or heads its own). */
  async ahead(jobId: string): Promise<number> {
    const tenant = (await this.redis.hget(`${this.providerKey()}:owners`, jobId)) ?? DEFAULT_TENANT;
    const ranks = await Promise.all(this.laneKeys().map((key) => this.redis.zrank(this.tenantLane(key, tenant), jobId)));
    return ranks.find((r) => r !== null) ?? 0;
  }

  /** True when no cap and no rate applies to this model and tenant, so a submit need not ask at all. */
  uncapped(modelId: string, tenant = DEFAULT_TENANT): boolean {
    return !this.caps.rate && !this.holdsSlot(modelId, tenant);
  }

  /** How often to hand the rate's room over while jobs wait for it: one request's worth of the window (at least 20 ms); none without a rate. */
  pumpEveryMs(): number | undefined {
    return this.caps.rate && Math.max(20, this.caps.rate.windowMs / this.caps.rate.max);
  }

  /** True when a cap applies to this model and tenant, so a submitted task holds a slot until it ends. */
  holdsSlot(modelId: string, tenant = DEFAULT_TENANT): boolean {
    return Boolean(this.caps.provider) || this.laneOf(modelId) > 0 || this.tenantCap(tenant) > 0;
  }

  /** True when the provider, any of its models or any tenant is capped, or the provider has a rate. */
  capped(): boolean {
    return Boolean(this.caps.provider) || this.modelNames.length > 0 || (this.caps.tenants?.caps.size ?? 0) > 0 || Boolean(this.caps.rate);
  }

  private tenantCap(tenant: string): number {
    const caps = this.caps.tenants?.caps;
    return caps?.get(tenant) ?? caps?.get("*") ?? 0;
  }

  private run(
    op: "acquire" | "release" | "sweep" | "renew" | "reclaim" | "request",
    jobId: string,
    lane = 0,
    enqueuedAt = 0,
    tenant = DEFAULT_TENANT,
  ): Promise<Array<number | string>> {
    const keys = [`${this.providerKey()}:grants`, `${this.providerKey()}:seq`, this.providerKey(), this.laneKey()];
    for (const name of this.modelNames) keys.push(this.modelKey(name), this.laneKey(name));
    const caps = this.modelNames.map((name) => this.caps.models.get(name) ?? 0);
    const now = Date.now();
    const args = [now, this.caps.provider ?? 0, ...caps, this.grantTtlMs, op, jobId, lane, enqueuedAt, now + this.leaseMs];
    args.push(tenant, DEFAULT_TENANT, this.weights, this.tenantCaps, this.caps.rate?.max ?? 0, this.caps.rate?.windowMs ?? 0);
    return this.redis.eval(SLOTS, keys.length, ...keys, ...args) as Promise<Array<number | string>>;
  }

  /** The default tenant and every tenant in the ring of waiting tenants. */
  private async waitingTenants(): Promise<string[]> {
    const ring = await this.redis.zrange(`${this.providerKey()}:tenants`, 0, -1);
    return [...new Set([DEFAULT_TENANT, ...ring])];
  }

  /** 1 + the index of the model's cap, or 0 for the provider-wide lane (or an uncapped model). */
  private laneOf(modelId: string): number {
    return this.modelNames.indexOf(envModelName(modelId)) + 1;
  }

  private laneKeys(): string[] {
    return [this.laneKey(), ...this.modelNames.map((name) => this.laneKey(name))];
  }

  private tenantLane(lane: string, tenant: string): string {
    return tenant === DEFAULT_TENANT ? lane : `${lane}:${tenant}`;
  }

  private tenantKey(tenant: string): string {
    return `${this.providerKey()}:tenant:${tenant}`;
  }

  private providerKey(): string {
    return `${this.prefix}:inflight:${this.provider}`;
  }

  private modelKey(name: string): string {
    return `${this.prefix}:inflight:${this.provider}:${name}`;
  }

  private laneKey(name?: string): string {
    return name ? `${this.modelKey(name)}:waiting` : `${this.providerKey()}:waiting`;
  }
}

/** `name=value,...` for the script, in a stable order. */
function listOf(values: ReadonlyMap<string, number> | undefined): string {
  return [...(values ?? [])]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${value}`)
    .join(",");
}
