// Readers for scripts/check-compose.mjs: a compose service's environment, env_file and mounts,
// compose's `${...}` interpolation, .env.example's names and the Dockerfile's stages. Plain
// readers of the files as written, without Docker: what `docker compose config` would resolve.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

/** A service's `environment`, as a map whether written as a map or as a `NAME=value` list. */
export const envOf = (service) =>
  Array.isArray(service?.environment)
    ? Object.fromEntries(service.environment.map((e) => e.split(/=(.*)/s).slice(0, 2)))
    : (service?.environment ?? {});

/** A service's command as one string, and its first word (the kiln subcommand). */
export const argsOf = (service) => [service?.command ?? []].flat().join(" ");
export const subcommandOf = (service) => [service?.command ?? []].flat()[0];

/** The `env_file` entries of a service as `{ path, required }` (a string is a required file). */
export const envFilesOf = (service) =>
  [service?.env_file ?? []].flat().map((e) => (typeof e === "string" ? { path: e, required: true } : { required: true, ...e }));

/**
 * Compose's interpolation of `text` with `vars`: `${X}`, `${X:-default}` (also when empty),
 * `${X-default}` (when unset), `${X:?message}` (a placeholder stands for a required value here),
 * and `$$` for a literal `$`. Nested defaults are resolved from the inside out.
 */
export function interpolate(text, vars = {}) {
  let out = String(text);
  for (let guard = 0; guard < 10 && /\$\{[A-Za-z_][A-Za-z0-9_]*[^{}]*\}/.test(out); guard++) {
    out = out.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^{}]*))?\}/g, (_, name, op, arg) => {
      const value = vars[name];
      if (op === ":-") return value ? value : arg;
      if (op === "-") return value ?? arg;
      if (op === ":?" || op === "?") return value ? value : `placeholder-${name}`;
      return value ?? "";
    });
  }
  return out.replace(/\$\$/g, "$");
}

/** The variables the compose file's own `${...}` reads (from the shell or .env). */
export const interpolatedNames = (composeText) => [...new Set([...composeText.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]))];

/** A service's bind mounts (short syntax `source:target[:ro]`, or long syntax) with the source interpolated. */
export function bindMountsOf(service, dir, vars = {}) {
  return (service?.volumes ?? []).flatMap((v) => {
    if (typeof v === "string") {
      const [source, target, mode] = interpolate(v, vars).split(":");
      if (!/^[./~]/.test(source ?? "")) return []; // a named volume
      return [{ source: resolve(dir, source), target, readOnly: mode === "ro" }];
    }
    if (v?.type !== "bind") return [];
    return [{ source: resolve(dir, interpolate(v.source, vars)), target: v.target, readOnly: v.read_only === true }];
  });
}

/** A .env file's `NAME=value` lines (quotes around a value removed), or nothing when there is no file. */
export function dotenvOf(path) {
  if (!existsSync(path)) return {};
  const pairs = readFileSync(path, "utf8")
    .split("\n")
    .map((line) => /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line))
    .filter(Boolean)
    .map(([, name, value]) => [name, value.replace(/^(["'])(.*)\1$/, "$2")]);
  return Object.fromEntries(pairs);
}

/** The names .env.example gives a line to, set (`X=`) or commented (`# X=`), and the set ones. */
export function envExampleNames(text) {
  const all = new Set();
  const set = new Set();
  for (const line of text.split("\n")) {
    const m = /^(#\s*)?([A-Z][A-Z0-9_]*)=/.exec(line);
    if (!m) continue;
    all.add(m[2]);
    if (!m[1]) set.add(m[2]);
  }
  return { all, set };
}

/**
 * The variable names in the first column of docs/configuration.md's tables, an optional part
 * (`OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`) giving both; patterns (`<PROVIDER>`) and shorthands
 * (`_VIDEO`) are left to the config's own list.
 */
export function documentedNames(markdown) {
  const names = new Set();
  for (const line of markdown.split("\n")) {
    const first = /^\|([^|]*)\|/.exec(line)?.[1] ?? "";
    for (const [, name] of first.matchAll(/`([A-Z][A-Z0-9_]*(?:\[[A-Z0-9_]+\][A-Z0-9_]*)?)`/g)) {
      names.add(name.replace(/\[[^\]]*\]/, ""));
      names.add(name.replace(/[[\]]/g, ""));
    }
  }
  return names;
}

/**
 * A Dockerfile's stages in order: `{ name, from, lines }`, `from` the image or stage it starts
 * from. `contentOf(stage)` follows `FROM <earlier stage>` to every line that stage holds.
 */
export function dockerfileStages(path) {
  if (!existsSync(path)) return [];
  const stages = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ from: from[1], name: from[2], lines: [] });
    else if (stages.length > 0 && line.trim() && !line.startsWith("#")) stages.at(-1).lines.push(line.trim());
  }
  return stages;
}
export function stageContent(stages, stage) {
  const base = stages.find((s) => s.name !== undefined && s.name === stage?.from && s !== stage);
  return [...(base ? stageContent(stages, base) : []), ...(stage?.lines ?? [])];
}
