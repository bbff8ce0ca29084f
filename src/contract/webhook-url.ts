import { z } from "zod";

/**
 * Where a webhook is delivered: an absolute http:// or https:// URL, for a generation's
 * `webhook.url` and a batch's alike. Other schemes (file:, javascript:, gopher:) name nothing
 * kiln can POST to; the URL guard then checks the address at delivery.
 */
export const WebhookUrl = z
  .string()
  .url()
  .regex(/^https?:\/\//i, { message: "expected an http:// or https:// URL" })
  // the HTTP API's schema check words a pattern failure with the description
  .describe("an http:// or https:// URL");
