/** Job name of every generation job. */
export const GENERATE_JOB = "generate";
/** Queue of webhook deliveries, separate so a slow receiver never holds generation work. */
export const WEBHOOKS_QUEUE = "webhooks";

/** Parent jobs of bulk batches (BullMQ flows). Same prefix as the generation queues: a flow's keys must share a Cluster slot. */
export const BATCHES_QUEUE = "batches";

/** The queue that runs `provider`'s jobs. */
export function generateQueueName(provider: string): string {
  return `generate-${provider}`;
}

/** Default key prefix: the braces make it a Redis Cluster hash tag, so all of kiln's keys share a slot. */
export const DEFAULT_PREFIX = "{kiln}";

/** The provider whose jobs `queueName` runs: the inverse of `generateQueueName`; undefined for kiln's other queues. */
export function providerOfQueue(queueName: string): string | undefined {
  return queueName.startsWith("generate-") ? queueName.slice("generate-".length) : undefined;
}
