import { z } from "zod";
import { WebhookSecret, WebhookSecrets } from "./webhook-secret.js";
import { WebhookUrl } from "./webhook-url.js";
import { ArchivePrefix } from "./archive-prefix.js";
import { Tenant } from "./tenant.js";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../util/json-depth.js";

/** Events a caller can subscribe to. `generation.completed` and `generation.failed` are the default. */
export const WebhookEvent = z.enum(["generation.completed", "generation.failed", "generation.started", "generation.progress"]);
export type WebhookEvent = z.infer<typeof WebhookEvent>;

/**
 * A JSON object nesting at most MAX_JSON_DEPTH levels: deeper values would overflow the
 * recursive walks that meet a request later (comparing it, serialising it), after it is stored.
 */
export const ShallowJsonObject = z.record(z.string(), z.unknown()).refine((value) => !nestsDeeperThan(value, MAX_JSON_DEPTH), {
  message: `nested more than ${MAX_JSON_DEPTH} levels deep`,
});

/**
 * A generation request: the job data of a `generate` job on `generate-<provider>`. This schema
 * is the public contract (v1) shared with producers in any language; add only optional fields.
 */
export const GenerationRequest = z.strictObject({
  /** Provider family; also names the queue (`generate-<provider>`). */
  provider: z.string().min(1),
  /** Model id as the provider documents it (case-insensitive). */
  model: z.string().min(1),
  /** The provider's documented request body, without `model`. Checked per model by the worker. */
  input: ShallowJsonObject,
  webhook: z
    .object({
      url: WebhookUrl,
      /** Default `generation.completed` and `generation.failed`; list `generation.started` / `generation.progress` to get them too. */
      events: z.array(WebhookEvent).min(1).optional(),
      /** Signs this request's deliveries instead of `KILN_WEBHOOK_SECRET` (`whsec_` + base64 of 24-64 bytes). */
      secret: WebhookSecret.optional(),
      /**
       * Several secrets at once, newest first (1 to 5), instead of `secret`: each delivery carries
       * a signature of every one, so the receiver can move from an old secret to a new one without a gap.
       */
      secrets: WebhookSecrets.optional(),
    })
    // one or the other: with both, which one signs would be a guess
    .refine((webhook) => webhook.secret === undefined || webhook.secrets === undefined, {
      message: "give webhook.secret or webhook.secrets, not both",
      path: ["secrets"],
    })
    .optional(),
  archive: z
    .object({
      /** Key prefix in the archive store: see `ArchivePrefix`. */
      prefix: ArchivePrefix.optional(),
    })
    .optional(),
  /**
   * Send a model kiln has no row for as given, read with the provider's generic rules
   * (TokenHub and wcode: chat completion; gateway: any task id, chat answer or result URL).
   */
  passthrough: z.boolean().optional(),
  /** Set by the batch producer (`kiln bulk`, `enqueueBatch`): the batch and the manifest line's custom_id. */
  batch: z.object({ id: z.string().min(1), custom_id: z.string().min(1) }).optional(),
  /** Opaque to kiln; returned in the result and the webhook. */
  metadata: ShallowJsonObject.optional(),
  /**
   * The service the request comes from (`Tenant`): fair shares of every provider, budgets and API
   * tokens are kept per tenant. Absent means `default`. A batch's jobs take the batch's tenant.
   */
  tenant: Tenant.optional(),
});
export type GenerationRequest = z.infer<typeof GenerationRequest>;

/** Formats zod issues as `field.path: message` lines, the way every kiln validation error reads. */
export function describeIssues(error: z.ZodError, root = ""): string {
  return error.issues
    .map((issue) => {
      const path = [root, ...issue.path.map(String)].filter(Boolean).join(".");
      return `${path || "(root)"}: ${issue.message}`;
    })
    .join("; ");
}
