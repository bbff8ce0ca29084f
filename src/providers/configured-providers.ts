import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import type { Provider } from "./provider.js";
import { TokenHubProvider } from "./tokenhub/tokenhub-provider.js";
import { GatewayProvider } from "./gateway/gateway-provider.js";
import { WcodeProvider } from "./wcode/wcode-provider.js";

/**
 * The provider settings `configuredProviders` reads, named as the environment variables that
 * set them (config/providers.ts parses them; the environment as a whole satisfies this interface).
 */
export interface ProviderSettings {
  TOKENHUB_API_KEY?: string;
  TOKENHUB_BASE_URL: readonly string[];
  GATEWAY_API_KEY?: string;
  /** Required with `GATEWAY_API_KEY`: the gateway's document names no host. */
  GATEWAY_BASE_URL?: readonly string[];
  GATEWAY_SUBMIT_PATH: string;
  WCODE_API_KEY?: string;
  WCODE_BASE_URL: readonly string[];
  /** The largest provider answer read, bytes. @defaultValue 16 MiB */
  KILN_MAX_ANSWER_BYTES?: number;
}

/** The providers whose credentials are configured: `kiln worker` runs a queue for each. */
export function configuredProviders(settings: ProviderSettings, log: Logger, dispatcher?: Dispatcher): Provider[] {
  const providers: Provider[] = [];
  const maxAnswerBytes = settings.KILN_MAX_ANSWER_BYTES;
  if (settings.TOKENHUB_API_KEY)
    providers.push(
      new TokenHubProvider({ apiKey: settings.TOKENHUB_API_KEY, baseUrls: settings.TOKENHUB_BASE_URL, log, dispatcher, maxAnswerBytes }),
    );
  if (settings.GATEWAY_API_KEY && settings.GATEWAY_BASE_URL) {
    providers.push(
      new GatewayProvider({
        apiKey: settings.GATEWAY_API_KEY,
        baseUrls: settings.GATEWAY_BASE_URL,
        submitPath: settings.GATEWAY_SUBMIT_PATH,
        log,
        dispatcher,
        maxAnswerBytes,
      }),
    );
  }
  if (settings.WCODE_API_KEY)
    providers.push(
      new WcodeProvider({ apiKey: settings.WCODE_API_KEY, baseUrls: settings.WCODE_BASE_URL, log, dispatcher, maxAnswerBytes }),
    );
  return providers;
}

/** Each base URL of each provider whose credentials are configured, in the order they are tried. */
export function configuredBaseUrls(settings: ProviderSettings): Array<{ provider: string; baseUrl: string }> {
  const bases: Array<[string, string | undefined, readonly string[] | undefined]> = [
    ["tokenhub", settings.TOKENHUB_API_KEY, settings.TOKENHUB_BASE_URL],
    ["gateway", settings.GATEWAY_API_KEY, settings.GATEWAY_BASE_URL],
    ["wcode", settings.WCODE_API_KEY, settings.WCODE_BASE_URL],
  ];
  return bases.flatMap(([provider, key, urls]) => (key ? (urls ?? []).map((baseUrl) => ({ provider, baseUrl })) : []));
}
