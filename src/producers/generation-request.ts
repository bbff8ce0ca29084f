import { z } from "zod";
import { WebhookSecret } from "../webhooks/webhook-secret.js";

/** Events a caller can subscribe to. `generation.completed` and `generation.failed` are the default. */
export const WebhookEvent = z.enum(["generation.completed", "generation.failed", "generation.started", "generation.progress"]);
export type WebhookEvent = z.infer<typeof WebhookEvent>;

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
  input: z.record(z.string(), z.unknown()),
  webhook: z
    .object({
      url: z
        .string()
        .url()
        .regex(/^https?:\/\//i, { message: "expected an http:// or https:// URL" }),
      /** Default `generation.completed` and `generation.failed`; list `generation.started` / `generation.progress` to get them too. */
      events: z.array(WebhookEvent).min(1).optional(),
      /** Signs this request's deliveries instead of `KILN_WEBHOOK_SECRET` (`whsec_` + base64 of 24-64 bytes). */
      secret: WebhookSecret.optional(),
    })
    .optional(),
  archive: z
    .object({
      /** Key prefix in the archive store. Letters, digits and `-_./`, no `..`. */
      prefix: z
        .string()
        .regex(/^[A-Za-z0-9_\-./]{1,200}$/, { message: "letters, digits and -_./ only" })
        .refine((p) => !p.split("/").includes(".."), { message: "must not contain '..'" })
        .optional(),
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
  metadata: z.record(z.string(), z.unknown()).optional(),
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
