import type { ModelSpec } from "./model-spec.js";
import { GATEWAY_MODELS, GATEWAY_PASSTHROUGH } from "./gateway/gateway-models.js";
import { TOKENHUB_MODELS, TOKENHUB_PASSTHROUGH } from "./tokenhub/tokenhub-models.js";
import { WCODE_MODELS, WCODE_PASSTHROUGH } from "./wcode/wcode-models.js";

/** Every model kiln knows, one row each. Adding a model is a row in its provider's table plus a test. */
export const MODELS: readonly ModelSpec[] = [...TOKENHUB_MODELS, ...GATEWAY_MODELS, ...WCODE_MODELS];

/** The provider families with a queue each (`generate-<provider>`). */
export const PROVIDERS = ["tokenhub", "gateway", "wcode"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** How each provider handles a model it has no row for, when the request opts into pass-through. */
const PASSTHROUGH: Record<ProviderName, (id: string) => ModelSpec> = {
  tokenhub: TOKENHUB_PASSTHROUGH,
  gateway: GATEWAY_PASSTHROUGH,
  wcode: WCODE_PASSTHROUGH,
};

/** Finds a model by provider and id, ignoring case (documents spell ids both ways). */
export function findModel(provider: string, id: string): ModelSpec | undefined {
  const wanted = id.toLowerCase();
  return MODELS.find((m) => m.provider === provider && (m.id.toLowerCase() === wanted || m.displayName?.toLowerCase() === wanted));
}

/**
 * The model a request runs: its registry row, or with `passthrough` the provider's generic
 * row for an id kiln does not list. Undefined for an unknown model without pass-through.
 */
export function resolveModel(provider: string, id: string, passthrough = false): ModelSpec | undefined {
  const known = findModel(provider, id);
  if (known || !passthrough || !isProvider(provider)) return known;
  return PASSTHROUGH[provider](id);
}

export function isProvider(name: string): name is ProviderName {
  return (PROVIDERS as readonly string[]).includes(name);
}

/** The ids known for `provider`, for error messages that list the alternatives. */
export function modelIds(provider: string): string[] {
  return MODELS.filter((m) => m.provider === provider).map((m) => m.id);
}

/** The message both the TypeScript client and the worker give for an unknown model. */
export function unknownModelMessage(provider: string, id: string): string {
  if (!isProvider(provider)) return `provider: unknown provider "${provider}"; known: ${PROVIDERS.join(", ")}`;
  return `model: unknown ${provider} model "${id}"; known: ${modelIds(provider).join(", ")} (or set "passthrough": true to send it as given)`;
}
