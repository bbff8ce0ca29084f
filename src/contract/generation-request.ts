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

/** The longest a completed generation is offered for reuse: 30 days, in seconds. */
const MAX_REUSE_TTL_SECONDS = 30 * 86_400;

/** `reuse` of a request: how old a completed identical generation may be to be reused, and whether an unseeded one may be. */
export const ReuseOption = z.strictObject({
  /** Seconds: a completed identical generation at most this old is reused (copied), not generated again. */
  ttl: z
    .number()
    .int({ message: "expected whole seconds" })
    .min(1, { message: "expected at least 1 second" })
    .max(MAX_REUSE_TTL_SECONDS, { message: `expected at most ${MAX_REUSE_TTL_SECONDS} seconds (30 days)` }),
  /**
   * Reuse even though `input` has no `seed`: without one, a model samples anew each time, so two
   * runs of the same request differ. Default false: a request without a seed is refused reuse.
   */
  unseeded: z.boolean().optional(),
});
export type ReuseOption = z.infer<typeof ReuseOption>;

/** Another model to try when the one before it cannot serve: a provider, a model, and optionally its own input. */
const FallbackTarget = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1),
  /** The fallback model's input; absent: the request's own `input`. Checked against that model's schema. */
  input: ShallowJsonObject.optional(),
});

/** At most this many fallbacks after the request's own model. */
const MAX_FALLBACKS = 5;

/**
 * When kiln moves on to the next fallback (docs/fallbacks.md). Every trigger fires only where
 * no task of the model before can still finish: before the provider accepted a submit.
 */
export const FallbackTriggers = z.strictObject({
  /** The provider answered that the model is not available to this account (403). @defaultValue true */
  modelNotAvailable: z.boolean().optional(),
  /** A submit refused for capacity (503, service unavailable). @defaultValue true */
  capacity: z.boolean().optional(),
  /** This many submits in a row ended with a 5xx or no answer (0: never). Needs the retry policy for unknown submits. @defaultValue 3 */
  failedSubmits: z.number().int().min(0).max(20).optional(),
  /** Seconds a job may wait for an in-flight slot or the provider's rate before moving on. @defaultValue none: it waits */
  maxWait: z.number().int().min(1).max(86_400).optional(),
  /** The job's deadline passed while its submit was still being retried. @defaultValue true */
  deadline: z.boolean().optional(),
});
export type FallbackTriggers = z.infer<typeof FallbackTriggers>;

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
  /**
   * Opt in to reuse (docs/reuse.md): an identical request of the same tenant that is running
   * shares its one submission, and one completed within `ttl` seconds makes none.
   */
  reuse: ReuseOption.optional(),
  /**
   * Models to move on to, in order, when the one before cannot serve (docs/fallbacks.md): the
   * result's `servedBy` says which one did, and `attempts` what happened before it.
   */
  fallbacks: z.array(FallbackTarget).min(1).max(MAX_FALLBACKS).optional(),
  /** Which refusals move the request on to its next fallback (defaults in `FallbackTriggers`). */
  fallbackOn: FallbackTriggers.optional(),
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
