import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import type { Environment } from "../config.js";
import type { Provider } from "./provider.js";
import { TokenHubProvider } from "./tokenhub/tokenhub-provider.js";
import { GatewayProvider } from "./gateway/gateway-provider.js";
import { WcodeProvider } from "./wcode/wcode-provider.js";

export type { Provider, OutputSource, SubmitResult, TaskStatus } from "./provider.js";
export type { ModelSpec, ModelKind } from "./model-spec.js";
export { ProviderError, isProviderError, type ProviderErrorKind } from "./provider-error.js";
export { MODELS, PROVIDERS, findModel, modelIds, resolveModel } from "./model-registry.js";
export { TokenHubProvider, GatewayProvider, WcodeProvider };

/** The providers whose credentials are configured: `kiln worker` runs a queue for each. */
export function configuredProviders(env: Environment, log: Logger, dispatcher?: Dispatcher): Provider[] {
  const providers: Provider[] = [];
  if (env.TOKENHUB_API_KEY) providers.push(new TokenHubProvider({ apiKey: env.TOKENHUB_API_KEY, baseUrls: env.TOKENHUB_BASE_URL, log, dispatcher }));
  if (env.GATEWAY_API_KEY && env.GATEWAY_BASE_URL) providers.push(new GatewayProvider({ apiKey: env.GATEWAY_API_KEY, baseUrls: env.GATEWAY_BASE_URL, submitPath: env.GATEWAY_SUBMIT_PATH, log, dispatcher }));
  if (env.WCODE_API_KEY) providers.push(new WcodeProvider({ apiKey: env.WCODE_API_KEY, baseUrls: env.WCODE_BASE_URL, log, dispatcher }));
  return providers;
}
