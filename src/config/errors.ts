import type { z } from "zod";

/** Thrown when the environment does not validate; its message names every bad variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** Structural marker: `instanceof` breaks across duplicated copies of this package. */
  readonly isConfigError = true;
}

/** The one way to say that variables are wrong: `invalid environment:` and a line per variable. */
export function configError(...problems: string[]): ConfigError {
  return new ConfigError(`invalid environment:\n  ${problems.join("\n  ")}`);
}

export function isConfigError(err: unknown): err is ConfigError {
  return typeof err === "object" && err !== null && (err as { isConfigError?: unknown }).isConfigError === true;
}

/** A schema's failure as a ConfigError: a line per issue, `VARIABLE: what was expected`. */
export function configErrorOf(error: z.ZodError): ConfigError {
  return configError(...error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
}
