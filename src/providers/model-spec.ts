import type { z } from "zod";
import type { ModelKind } from "./model-kind.js";
import type { PollPolicy } from "./poll-policy.js";

/** One row of the model registry. */
export interface ModelSpec {
  /** The provider family whose queue runs it (`generate-<provider>`). */
  provider: string;
  /** The model id as the provider's document spells it in requests. */
  id: string;
  /** The name the provider's document shows in its tables, when it differs from `id`. */
  displayName?: string;
  kind: ModelKind;
  /** `sync` models answer the submit call with the outputs; `async` ones with a task id. */
  mode: "sync" | "async";
  /** Provider-specific routing (endpoint family, etc.), opaque to the worker. */
  endpoint: string;
  /** Validates `input` (the documented request body without `model`). */
  input: z.ZodType<Record<string, unknown>>;
  poll: PollPolicy;
  /**
   * Top-level input fields whose value the provider's document states as the default: a request
   * spelling one out is the same request as one leaving it out (the reuse key drops them).
   */
  defaults?: Readonly<Record<string, unknown>>;
}
