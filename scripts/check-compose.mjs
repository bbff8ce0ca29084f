#!/usr/bin/env node
// Checks docker-compose.yml without a Docker engine (CI has none):
//   1. the compose-spec JSON schema and dclint's safety rules (dclint vendors the schema);
//   2. kiln's own rules, which no schema knows: the grace period covers the shutdown bound, the
//      worker serves /readyz with a healthcheck, every provider's key and the API tokens are
//      passed through, every Redis server has maxmemory + noeviction + a password, MinIO's credentials are
//      not its defaults;
//   3. `docker compose config`, only where the compose plugin exists.
// It prints what it did not run. Usage: node scripts/check-compose.mjs [file]
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const root = fileURLToPath(new URL("..", import.meta.url));
const file = process.argv[2] ?? `${root}docker-compose.yml`;
const problems = [];
const notRun = [];

// 1. schema + safety rules; style rules (key order, quoting) are switched off in the config
const dclint = spawnSync(
  process.execPath,
  [`${root}node_modules/dclint/bin/dclint.cjs`, file, "-c", `${root}scripts/dclint.config.json`, "--no-color"],
  { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } },
);
if (dclint.error || dclint.status !== 0)
  problems.push(`dclint (compose-spec schema and rules) failed:\n${dclint.stdout}${dclint.stderr}${dclint.error?.message ?? ""}`);
else console.log("compose: compose-spec schema and dclint rules pass");

// 2. kiln's rules
let compose;
try {
  // merge keys (`<<: *anchor`) as compose reads them: the cluster profile shares the worker's environment
  compose = parse(readFileSync(file, "utf8"), { merge: true });
} catch (err) {
  console.error(`compose: ${file} is not valid YAML: ${err.message}`);
  process.exit(1);
}
const services = compose?.services ?? {};
const check = (ok, message) => ok || problems.push(message);
const seconds = (d) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(d ?? "").trim());
  return m ? Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? "s"] : undefined;
};
const envOf = (service) =>
  Array.isArray(service?.environment)
    ? Object.fromEntries(service.environment.map((e) => e.split(/=(.*)/s).slice(0, 2)))
    : (service?.environment ?? {});
const argsOf = (service) => [service?.command ?? []].flat().join(" ");

const workers = Object.entries(services).filter(([, s]) => [s.command ?? []].flat()[0] === "worker");
check(workers.length > 0, "no service runs `kiln worker` (command: [worker])");
const configSource = readFileSync(`${root}src/config/providers.ts`, "utf8");
// every provider key the configuration knows, so a new provider cannot be left out of compose
const providerKeys = [...configSource.matchAll(/^\s*([A-Z]+_API_KEY):/gm)].map((m) => m[1]);
check(providerKeys.length >= 3, `found only ${providerKeys.length} provider keys in src/config/providers.ts`);
for (const [name, worker] of workers) {
  const env = envOf(worker);
  const shutdown = seconds(env.KILN_SHUTDOWN_TIMEOUT ?? "20s");
  const grace = seconds(worker.stop_grace_period ?? "10s");
  check(
    grace !== undefined && shutdown !== undefined && grace > shutdown,
    `${name}: stop_grace_period (${worker.stop_grace_period ?? "10s, Docker's default"}) ` +
      `must exceed KILN_SHUTDOWN_TIMEOUT (${env.KILN_SHUTDOWN_TIMEOUT ?? "20s"}), or Docker kills a worker that is still closing`,
  );
  check(env.KILN_HTTP_PORT !== undefined, `${name}: set KILN_HTTP_PORT so the worker serves /readyz and /metrics`);
  check(
    JSON.stringify(worker.healthcheck?.test ?? "").includes(`:${env.KILN_HTTP_PORT}/readyz`),
    `${name}: the healthcheck must ask /readyz on KILN_HTTP_PORT`,
  );
  for (const key of [...providerKeys, "KILN_API_TOKEN", "KILN_READ_TOKEN", "KILN_ADMIN_TOKEN", "KILN_WEBHOOK_SECRET"]) {
    check(
      typeof env[key] === "string" && env[key].includes(`\${${key}`),
      `${name}: pass ${key} through from the environment (${key}: \${${key}:-})`,
    );
  }
}
// every Redis server: the single one and each node of the cluster profile
const redisServers = Object.entries(services).filter(
  ([, s]) => String(s.image ?? "").startsWith("redis") && argsOf(s).startsWith("redis-server"),
);
check(redisServers.length > 0, "no redis service");
for (const [name, service] of redisServers) {
  const args = argsOf(service);
  check(/--maxmemory \S+/.test(args) && !/--maxmemory 0\b/.test(args), `${name}: set --maxmemory, or noeviction never applies`);
  check(/--maxmemory-policy noeviction\b/.test(args), `${name}: --maxmemory-policy noeviction (BullMQ's keys must never be evicted)`);
  check(/--requirepass \S+/.test(args), `${name}: set --requirepass`);
  check(/--appendonly yes\b/.test(args), `${name}: --appendonly yes (accepted jobs survive a restart)`);
}
for (const [name, service] of Object.entries(services).filter(([, s]) => String(s.image ?? "").startsWith("minio/minio"))) {
  const env = envOf(service);
  for (const key of ["MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"]) {
    check(env[key] !== undefined && !/minioadmin/.test(env[key]), `${name}: ${key} must be set, and not to MinIO's default`);
  }
}
for (const [name, service] of Object.entries(services)) {
  for (const port of service.ports ?? []) {
    // Redis and MinIO hold the jobs and the archive: never on every interface of the host
    check(typeof port !== "string" || port.split(":").length === 3, `${name}: bind port ${port} to an interface (127.0.0.1:...)`);
  }
}

// 3. the real parser, where it exists
const docker = spawnSync("docker", ["compose", "version"], { encoding: "utf8" });
if (docker.status === 0) {
  const config = spawnSync("docker", ["compose", "-f", file, "config", "--quiet"], {
    encoding: "utf8",
    env: { ...process.env, ...placeholderEnv() },
  });
  if (config.status !== 0) problems.push(`docker compose config failed:\n${config.stderr}`);
  else console.log("compose: docker compose config passes");
} else {
  notRun.push("`docker compose config` (no compose plugin here)");
}
notRun.push("building the image, starting the containers, their healthchecks and a graceful stop (no Docker engine)");

for (const what of notRun) console.log(`compose: not run: ${what}`);
if (problems.length > 0) {
  console.error(`compose: ${file} has ${problems.length} problem(s):\n- ${problems.join("\n- ")}`);
  process.exit(1);
}
console.log(`compose: ${file} passes kiln's rules`);

/** Values for the variables the file requires (`${X:?...}`), so `docker compose config` can interpolate. */
function placeholderEnv() {
  const text = readFileSync(file, "utf8");
  return Object.fromEntries(
    [...text.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => [m[1], process.env[m[1]] ?? "placeholder-for-config-check"]),
  );
}
