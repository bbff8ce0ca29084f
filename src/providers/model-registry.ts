import type { ModelSpec } from "./model-spec.js";
import { TOKENHUB_MODELS } from "./tokenhub/tokenhub-models.js";

/** Every model kiln knows, one row each. Adding a model is a row here plus a test. */
export const MODELS: readonly ModelSpec[] = [...TOKENHUB_MODELS];

/** The provider families with a queue each (`generate-<provider>`). */
export const PROVIDERS = ["tokenhub"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** Finds a model by provider and id, ignoring case (documents spell ids both ways). */
export function findModel(provider: string, id: string): ModelSpec | undefined {
  const wanted = id.toLowerCase();
  return MODELS.find((m) => m.provider === provider && (m.id.toLowerCase() === wanted || m.displayName?.toLowerCase() === wanted));
}

/** The ids known for `provider`, for error messages that list the alternatives. */
export function modelIds(provider: string): string[] {
  return MODELS.filter((m) => m.provider === provider).map((m) => m.id);
}
