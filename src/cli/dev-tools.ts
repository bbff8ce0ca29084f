import type * as DevToolsModule from "@kiln/dev-tools";
import { ConfigError } from "../config/index.js";

export type DevTools = typeof DevToolsModule;

/**
 * kiln's dev tools (`packages/dev-tools`: the provider simulator, the webhook receiver, a private
 * redis-server), loaded only by `kiln demo` and `kiln simulate`, never by the product's commands.
 * A checkout has them once built (`npm ci` builds them); the product's image leaves them out.
 */
export async function loadDevTools(command: string): Promise<DevTools> {
  try {
    return await import("@kiln/dev-tools");
  } catch (err) {
    const absent = (err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" && (err as Error).message.includes("dev-tools");
    if (!absent) throw err;
    throw new ConfigError(
      `kiln ${command} needs kiln's dev tools (packages/dev-tools), which this install does not have: run it from a checkout after npm ci (or npm run build)`,
    );
  }
}
