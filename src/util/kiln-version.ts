import { readFileSync } from "node:fs";

/** kiln's package version (src/util and dist/util both sit two levels under package.json). */
export function kilnVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}
