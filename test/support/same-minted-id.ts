import { Queue } from "bullmq";
import type { KilnHarness } from "./kiln-harness.js";

/**
 * Adds generation jobs without ids to generate-tokenhub and generate-wcode until BullMQ, which
 * counts per queue, has minted the same id in both; returns that id. The same id then names a
 * job in each queue.
 */
export async function sameMintedIdInTwoQueues(h: KilnHarness): Promise<string> {
  const queues = {
    tokenhub: new Queue("generate-tokenhub", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix }),
    wcode: new Queue("generate-wcode", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix }),
  };
  try {
    const add = async (provider: "tokenhub" | "wcode") =>
      Number(
        (
          await queues[provider].add(
            "generate",
            provider === "tokenhub" ? h.request("hy-image-lite") : h.chatRequest("wcode", "hunyuan-lite"),
          )
        ).id,
      );
    let [t, w] = [await add("tokenhub"), await add("wcode")];
    while (t !== w) [t, w] = t < w ? [await add("tokenhub"), w] : [t, await add("wcode")];
    return String(t);
  } finally {
    await Promise.all([queues.tokenhub.close(), queues.wcode.close()]);
  }
}
