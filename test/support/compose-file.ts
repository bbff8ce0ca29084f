import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/** A compose service, as far as running its command without a container needs. */
export interface ComposeService {
  command?: string | string[];
  environment?: Record<string, string | number | boolean> | string[];
  profiles?: string[];
  healthcheck?: { test?: string[] };
  volumes?: string[];
}

export const COMPOSE_FILE = fileURLToPath(new URL("../../docker-compose.yml", import.meta.url));

/** docker-compose.yml's services, merge keys (`<<: *anchor`) applied as compose applies them. */
export function composeServices(file = COMPOSE_FILE): Record<string, ComposeService> {
  return (parse(readFileSync(file, "utf8"), { merge: true }) as { services: Record<string, ComposeService> }).services;
}

/** Compose's interpolation: `${X}`, `${X:-default}`, `${X:?message}` (an error when unset), `$$`. */
export function interpolate(text: string, vars: Record<string, string>): string {
  return text
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-?])([^{}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
      const value = vars[name];
      if (op === "-") return value || (arg ?? "");
      if (op === "?" && !value) throw new Error(`compose would refuse: ${name} unset (${arg})`);
      return value ?? "";
    })
    .replace(/\$\$/g, "$");
}

/**
 * What compose would run for `service` with `vars` as .env's values, on this machine instead of
 * in containers: its command's words, its environment and its healthcheck, interpolated, then
 * every text of `addresses` (a service's `name:port`) replaced by where it is here, and every
 * bind mount's target by the file it mounts (relative to the compose file, as compose resolves it).
 */
export function runnable(
  service: ComposeService,
  vars: Record<string, string>,
  addresses: Record<string, string>,
  file = COMPOSE_FILE,
): { args: string[]; env: Record<string, string>; healthcheck?: string[] } {
  const mounts = Object.fromEntries(
    (service.volumes ?? [])
      .map((v) => interpolate(v, vars).split(":"))
      .filter(([source]) => /^[./]/.test(source ?? ""))
      .map(([source, target]) => [target!, resolve(dirname(file), source!)]),
  );
  const here = { ...addresses, ...mounts };
  const local = (text: string) => Object.entries(here).reduce((t, [from, to]) => t.replaceAll(from, to), interpolate(text, vars));
  const environment = Array.isArray(service.environment)
    ? Object.fromEntries(service.environment.map((e) => e.split(/=(.*)/s).slice(0, 2)))
    : (service.environment ?? {});
  return {
    args: [service.command ?? []].flat().map((a) => local(String(a))),
    env: Object.fromEntries(Object.entries(environment).map(([k, v]) => [k, local(String(v))])),
    healthcheck: service.healthcheck?.test?.slice(1).map((a) => local(a)),
  };
}
