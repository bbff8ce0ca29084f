import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import type { Environment } from "../config.js";
import type { Provider } from "./provider.js";
import { TokenHubProvider } from "./tokenhub/tokenhub-provider.js";

export type { Provider, OutputSource, SubmitResult, TaskStatus } from "./provider.js";
export type { ModelSpec, ModelKind } from "./model-spec.js";
export { ProviderError, isProviderError, type ProviderErrorKind } from "./provider-error.js";
export { MODELS, PROVIDERS, findModel, modelIds } from "./model-registry.js";
export { TokenHubProvider } from "./tokenhub/tokenhub-provider.js";

/** The providers whose credentials are configured: `kiln worker` runs a queue for each. */
export function configuredProviders(env: Environment, log: Logger, dispatcher?: Dispatcher): Provider[] {
  const providers: Provider[] = [];
  if (env.TOKENHUB_API_KEY) providers.push(new TokenHubProvider({ apiKey: env.TOKENHUB_API_KEY, baseUrls: env.TOKENHUB_BASE_URL, log, dispatcher }));
  return providers;
}
