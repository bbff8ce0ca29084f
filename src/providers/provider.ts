import type { ModelSpec } from "./model-spec.js";
import type { Completion } from "./chat/chat-completion.js";

/**
 * One output of a finished task, before it is archived: where its bytes are (a URL that may
 * expire, or bytes inline in the response) and what the provider says about it.
 */
export interface OutputSource {
  /** The provider's result URL, when the output is a download. */
  url?: string;
  /** Inline bytes (base64 or hex) when the provider answers with the content itself. */
  inline?: { encoding: "base64" | "hex" | "utf8"; data: string };
  /** File extension to use when the URL and the Content-Type do not tell (obj, glb, png...). */
  ext?: string;
  contentType?: string;
  /** What this output is when a task has several (e.g. `model` and `preview` for 3D). */
  role?: string;
  /** When the provider's URL stops working, if the provider or the URL's signature says. */
  expiresAt?: string;
}

/** Where a provider task stands after one status request. */
export type TaskStatus =
  | { state: "pending"; progress?: number; providerStatus: string }
  | { state: "succeeded"; outputs: OutputSource[] }
  | { state: "failed"; code: string; message: string };

/** What submitting returned: a task to poll, or (synchronous models) the outputs themselves. */
export type SubmitResult =
  | { type: "task"; taskId: string; status: TaskStatus }
  | { type: "completed"; outputs: OutputSource[]; providerTaskId?: string; completion?: Completion };

/** A provider family (tokenhub, gateway, wcode): turns requests into HTTP calls and answers. */
export interface Provider {
  readonly name: string;
  /** Submits `input` for `model` once. Throws a ProviderError on failure. */
  submit(model: ModelSpec, input: Record<string, unknown>): Promise<SubmitResult>;
  /** One status request for a submitted task. Throws a ProviderError on failure. */
  poll(model: ModelSpec, taskId: string): Promise<TaskStatus>;
}
