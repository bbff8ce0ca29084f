import { z } from "zod";
import { RetryScheduleText } from "../webhooks/retry-schedule.js";
import { Flag, WholeNumber } from "./values.js";

/** Webhooks: how deliveries are signed, retried and timed, and which targets outbound requests may reach. */
export const WebhooksConfig = z.object({
  /** Signs deliveries of requests without their own secret: `whsec_` + base64. Required by `kiln worker`; unset by default. */
  KILN_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, { message: "expected whsec_ followed by a base64 secret" })
    .optional(),
  /** Delays after the first attempt (`5s,5m,30m`; at most 20, each at most 24 h). Unset by default: Svix's schedule. */
  KILN_WEBHOOK_RETRY_SCHEDULE: RetryScheduleText.optional(),
  /** Per-attempt timeout: 100 to 300000 ms. Unset by default: 15000. */
  KILN_WEBHOOK_TIMEOUT_MS: WholeNumber(100, 300_000, {
    whole: "expected whole milliseconds",
    range: "expected 100 to 300000 ms",
  }).optional(),
  /** Loopback and private webhook and download targets allowed (tests, the demo). Default false. */
  KILN_ALLOW_PRIVATE_URLS: Flag.default(false),
});
export type WebhooksConfig = z.infer<typeof WebhooksConfig>;
