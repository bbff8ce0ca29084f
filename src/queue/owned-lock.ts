import { randomUUID } from "node:crypto";
import type { RedisConnection } from "./redis.js";

/** Deletes the lock only while this owner holds it (a GET then a DEL could delete another's lock). */
const RELEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`;
/** Extends the lock only while this owner holds it. */
const REFRESH = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`;

type LockCommand = (key: string, owner: string, ttlMs?: number) => Promise<number>;

/** Thrown by `refresh` when the lock lapsed and may now be someone else's. */
export class LockLostError extends Error {
  override name = "LockLostError";
}

/**
 * A Redis lock with an owner: `SET NX PX` to take it, and owner-checked release and refresh
 * as single scripts, so a holder whose lock lapsed can never release or extend another's.
 */
export class OwnedLock {
  private readonly owner = randomUUID();

  private constructor(
    private readonly redis: RedisConnection,
    readonly key: string,
    private readonly ttlMs: number,
  ) {}

  /** Takes the lock, or resolves undefined when someone else holds it. */
  static async acquire(redis: RedisConnection, key: string, ttlMs: number): Promise<OwnedLock | undefined> {
    defineCommands(redis);
    const lock = new OwnedLock(redis, key, ttlMs);
    return (await redis.set(key, lock.owner, "PX", ttlMs, "NX")) === "OK" ? lock : undefined;
  }

  /** Extends the lock by its TTL; throws `LockLostError` when it is no longer this owner's. */
  async refresh(): Promise<void> {
    const extended = await (this.redis as unknown as { kilnLockRefresh: LockCommand }).kilnLockRefresh(this.key, this.owner, this.ttlMs);
    if (extended !== 1) throw new LockLostError(`lock ${this.key} lapsed and may be held by another owner`);
  }

  /** Gives the lock back if this owner still holds it; resolves whether it did. */
  async release(): Promise<boolean> {
    return (await (this.redis as unknown as { kilnLockRelease: LockCommand }).kilnLockRelease(this.key, this.owner)) === 1;
  }
}

function defineCommands(redis: RedisConnection): void {
  if (!("kilnLockRelease" in redis)) redis.defineCommand("kilnLockRelease", { numberOfKeys: 1, lua: RELEASE });
  if (!("kilnLockRefresh" in redis)) redis.defineCommand("kilnLockRefresh", { numberOfKeys: 1, lua: REFRESH });
}
