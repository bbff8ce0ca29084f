import type { JobType } from "bullmq";
import type { RedisConnection } from "../queue/redis.js";
import type { WebhookQueue } from "../queue/webhook-queue.js";

/** Every state a delivery can be in while the queue keeps it. */
const KEPT_STATES: JobType[] = ["failed", "completed", "delayed", "waiting", "prioritized", "active"];

/**
 * The first of the ids in ARGV[3..] whose job's data holds ARGV[2] (a `"messageId":"msg_…"`
 * needle), the job keys being ARGV[1] + id. Redis compares the data where it is: a page of
 * deliveries costs no transfer of their bodies. KEYS[1] (the queue's meta key) is only there
 * to route the call to the queue's node; every key read shares its hash tag.
 */
const FIND_IN_PAGE = `
for i = 3, #ARGV do
  local data = redis.call("HGET", ARGV[1] .. ARGV[i], "data")
  if data and string.find(data, ARGV[2], 1, true) then return ARGV[i] end
end
return false`;

type FindInPage = (metaKey: string, keyPrefix: string, needle: string, ...ids: string[]) => Promise<string | null>;

/**
 * The id of the delivery whose `webhook-id` is `messageId` (what a receiver saw), looked for in
 * every state the queue keeps deliveries in, `pageSize` ids per call. Delivery ids are a hash of
 * the event, not of its webhook-id, so a lookup by webhook-id walks the queue: an operator's
 * command, not a hot path.
 */
export async function findDeliveryByMessageId(
  redis: RedisConnection,
  queue: WebhookQueue,
  messageId: string,
  pageSize = 200,
): Promise<string | undefined> {
  if (!("kilnFindDelivery" in redis)) redis.defineCommand("kilnFindDelivery", { numberOfKeys: 1, lua: FIND_IN_PAGE });
  const find = (redis as unknown as { kilnFindDelivery: FindInPage }).kilnFindDelivery;
  // the data is JSON.stringify's: no space after the colon
  const needle = `"messageId":${JSON.stringify(messageId)}`;
  for (const state of KEPT_STATES) {
    for (let start = 0; ; start += pageSize) {
      const ids = await queue.getRanges([state], start, start + pageSize - 1);
      if (ids.length > 0) {
        const found = await find.call(redis, queue.toKey("meta"), queue.toKey(""), needle, ...ids);
        if (found) return found;
      }
      if (ids.length < pageSize) break;
    }
  }
  return undefined;
}
