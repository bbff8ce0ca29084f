import type { ModelSpec } from "./model-spec.js";
import type { Completion } from "../contract/completion.js";
import type { OutputSource } from "./output-source.js";
import type { Usage } from "../contract/usage.js";

/** Where a provider task stands after one status request. */
export type TaskStatus =
  | { state: "pending"; progress?: number; providerStatus: string }
  /** `usage`: what the answer itself reported (source `provider`), when it reported anything. */
  | { state: "succeeded"; outputs: OutputSource[]; usage?: Usage }
  | { state: "failed"; code: string; message: string };

/** What submitting returned: a task to poll, or (synchronous models) the outputs themselves. */
export type SubmitResult =
  | { type: "task"; taskId: string; status: TaskStatus }
  | { type: "completed"; outputs: OutputSource[]; providerTaskId?: string; completion?: Completion; usage?: Usage };

/** A provider family (tokenhub, gateway, wcode): turns requests into HTTP calls and answers. */
export interface Provider {
  readonly name: string;
  /** Submits `input` for `model` once. Throws a ProviderError on failure. */
  submit(model: ModelSpec, input: Record<string, unknown>): Promise<SubmitResult>;
  /** One status request for a submitted task. Throws a ProviderError on failure. */
  poll(model: ModelSpec, taskId: string): Promise<TaskStatus>;
}
