/**
 * The process's environment. The one read of `process.env` in kiln's source (lint refuses any
 * other): every variable is read in `src/config/`, which takes this as its default.
 */
export function processEnvironment(): NodeJS.ProcessEnv {
  return process.env;
}

/** The variables of `env` that are set: empty strings count as unset, as everywhere in kiln. */
export function presentVariables(env: NodeJS.ProcessEnv, which: (name: string) => boolean = () => true): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => which(e[0]) && e[1] !== undefined && e[1] !== ""));
}
