import type { Environment } from "../config/index.js";
import type { ProviderResponseEvent } from "../providers/http-json.js";

type BaseUrls = Pick<Environment, "TOKENHUB_BASE_URL" | "GATEWAY_BASE_URL" | "WCODE_BASE_URL">;

/**
 * Names the provider behind a provider HTTP exchange from its base URL. The providers share
 * http-json and may share a host (the simulator serves all three), so the configured base URL,
 * not the host, is what tells them apart. An unknown base URL is labelled by its host.
 */
export class ProviderLabels {
  private readonly byBaseUrl = new Map<string, string>();

  constructor(env: Partial<BaseUrls>) {
    this.add("tokenhub", env.TOKENHUB_BASE_URL);
    this.add("gateway", env.GATEWAY_BASE_URL);
    this.add("wcode", env.WCODE_BASE_URL);
  }

  of(event: Pick<ProviderResponseEvent, "baseUrl" | "host">): string {
    return this.byBaseUrl.get(trimSlash(event.baseUrl)) ?? event.host;
  }

  private add(provider: string, urls: readonly string[] | undefined): void {
    for (const url of urls ?? []) this.byBaseUrl.set(trimSlash(url), provider);
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
