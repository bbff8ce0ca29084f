#!/usr/bin/env node
// Checks docker-compose.yml without a Docker engine (CI has none):
//   1. the compose-spec JSON schema and dclint's safety rules (dclint vendors the schema);
//   2. kiln's own rules, which no schema knows: the grace period covers the shutdown bound, the
//      worker serves /readyz with a healthcheck, every Redis server has maxmemory + noeviction +
//      a password, MinIO's credentials are not its defaults;
//   3. kiln's variables: every kiln service takes .env as its env_file, .env.example lists every
//      variable kiln reads (the compiled config's list) and every one docs/configuration.md
//      names, and a value compose sets over .env is marked so there;
//   4. the price table: KILN_PRICES names a read-only mount whose file kiln's price schema reads;
//   5. the demo profile (scripts/compose-demo-rules.mjs): the simulator, from a Dockerfile
//      target holding kiln's dev tools, at the address its result URLs name; a worker with all
//      three providers' URLs on it and KILN_ALLOW_PRIVATE_URLS; something that enqueues; and
//      every service and host any service names;
//   6. `docker compose config`, only where the compose plugin exists.
// It reads the compiled code (run `npm run build` first; `npm run compose:check` does) and the
// files beside the compose file (.env.example, Dockerfile, the mounted files). It prints what it
// did not run. Usage: node scripts/check-compose.mjs [compose file]
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { checkDemo, isDemo } from "./compose-demo-rules.mjs";
import {
  argsOf,
  bindMountsOf,
  documentedNames,
  dotenvOf,
  envExampleNames,
  envFilesOf,
  envOf,
  interpolate,
  interpolatedNames,
  subcommandOf,
} from "./compose-files.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const file = resolve(process.argv[2] ?? `${root}docker-compose.yml`);
const dir = dirname(file);
const problems = [];
const notRun = [];
// what compose interpolates the file with: the shell's variables over .env's (a mount's source)
const vars = { ...dotenvOf(resolve(dir, ".env")), ...process.env };
const load = (path) =>
  import(new URL(`../dist/${path}`, import.meta.url).href).catch((err) => {
    console.error(`compose: cannot load the compiled ${path} (${err.message}); run \`npm run build\` first`);
    process.exit(2);
  });
const [{ configVariableNames, VARIABLE_PATTERNS }, { PriceTable }] = await Promise.all([load("config/index.js"), load("billing/index.js")]);

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
const composeText = readFileSync(file, "utf8");
let compose;
try {
  // merge keys (`<<: *anchor`) as compose reads them: the cluster profile shares the worker's environment
  compose = parse(composeText, { merge: true });
} catch (err) {
  console.error(`compose: ${file} is not valid YAML: ${err.message}`);
  process.exit(1);
}
const services = compose?.services ?? {};
const check = (ok, message) => {
  if (!ok) problems.push(message);
  return ok;
};
/** The services built from this repository's Dockerfile: kiln's own. */
const kilnServices = () => Object.entries(services).filter(([, s]) => s.build !== undefined);
const seconds = (d) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(d ?? "").trim());
  return m ? Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? "s"] : undefined;
};
const workers = Object.entries(services).filter(([, s]) => subcommandOf(s) === "worker");
check(workers.length > 0, "no service runs `kiln worker` (command: [worker])");
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

checkVariables();
checkPrices();
checkDemo({ services, dir, vars, check, problems });
checkReferences();

// 6. the real parser, where it exists
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
notRun.push(
  "building the image, starting the containers, their healthchecks, a graceful stop and the demo profile in containers (no Docker engine; the demo's commands run without containers in test/integration/compose-demo.e2e.test.ts)",
);

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

/** 3. Every kiln service takes .env whole; .env.example lists every variable; values compose sets over .env are marked there. */
function checkVariables() {
  const examplePath = resolve(dir, ".env.example");
  if (!check(existsSync(examplePath), `.env.example: missing beside ${file}`)) return;
  const example = readFileSync(examplePath, "utf8");
  const { all, set } = envExampleNames(example);
  // every service that runs kiln on its configuration: all but the simulator, which reads none
  for (const [name, service] of kilnServices().filter(([, s]) => subcommandOf(s) !== "simulate")) {
    check(
      envFilesOf(service).some((e) => e.path === ".env" && e.required === false),
      `${name}: take every kiln variable from .env (env_file: [{ path: .env, required: false }]), not from a list in environment`,
    );
  }
  const needed = {
    "kiln's configuration (configVariableNames)": configVariableNames(),
    "docs/configuration.md": [...documentedNames(readFileSync(`${root}docs/configuration.md`, "utf8"))],
    "docker-compose.yml's ${...}": interpolatedNames(composeText),
  };
  for (const [source, names] of Object.entries(needed)) {
    const missing = names.filter((n) => !all.has(n));
    check(missing.length === 0, `.env.example: add ${missing.join(", ")} (read by ${source})`);
  }
  for (const pattern of VARIABLE_PATTERNS) check(example.includes(pattern), `.env.example: name the variables ${pattern}`);
  const known = new Set(Object.values(needed).flat());
  const unknown = [...all].filter((n) => !known.has(n));
  check(unknown.length === 0, `.env.example: ${unknown.join(", ")}: read by neither kiln, its docs nor docker-compose.yml`);
  // compose's environment wins over env_file: a value compose sets is one .env cannot change, so
  // .env.example says so, and holds no set line that would be ignored (the demo's own are its point)
  for (const [name, service] of kilnServices().filter(([, s]) => !isDemo(s))) {
    for (const [key, value] of Object.entries(envOf(service))) {
      if (String(value).includes(`\${${key}`)) continue; // .env's own value, through interpolation
      check(
        new RegExp(`^#\\s*${key}=.*set by docker-compose\\.yml`, "m").test(example) && !set.has(key),
        `${name}: ${key} is set by docker-compose.yml over .env: mark it in .env.example as a comment, \`# ${key}=... (set by docker-compose.yml)\``,
      );
    }
  }
}

/** 4. KILN_PRICES names a file mounted read-only, which kiln's price schema reads. */
function checkPrices() {
  for (const [name, service] of workers) {
    const path = envOf(service).KILN_PRICES;
    if (!check(path !== undefined, `${name}: set KILN_PRICES to the mounted price table's path`)) continue;
    const mount = bindMountsOf(service, dir, vars).find((m) => m.target === path);
    if (!check(mount !== undefined, `${name}: KILN_PRICES=${path} is no mount's target: mount the price table there`)) continue;
    check(mount.readOnly, `${name}: mount ${path} read-only (:ro)`);
    if (!check(existsSync(mount.source), `${name}: the price table ${mount.source} does not exist`)) continue;
    try {
      PriceTable.parse(readFileSync(mount.source, "utf8"), mount.source);
    } catch (err) {
      problems.push(`${name}: ${err.message}`);
    }
  }
}

/** Every service a depends_on or a URL names exists, and a URL's host is started before the service (depends_on, followed through). */
function checkReferences() {
  const dependsOn = (service) => (Array.isArray(service?.depends_on) ? service.depends_on : Object.keys(service?.depends_on ?? {}));
  const reach = (name, seen = new Set()) => {
    for (const dep of dependsOn(services[name])) if (!seen.has(dep)) reach(dep, seen.add(dep));
    return seen;
  };
  for (const [name, service] of Object.entries(services)) {
    for (const dep of dependsOn(service)) check(dep in services, `${name}: depends on ${dep}, which is no service`);
    const env = envOf(service);
    for (const [key, value] of Object.entries(env)) {
      // kiln ignores REDIS_URL once REDIS_CLUSTER_NODES is set
      if (key === "REDIS_URL" && env.REDIS_CLUSTER_NODES) continue;
      if (!/_URL$|_ENDPOINT$|^REDIS_CLUSTER_NODES$/.test(key)) continue;
      for (const item of interpolate(value).split(",")) {
        const host = /^[a-z]+:\/\//.test(item) ? URL.parse(item)?.hostname : item.split(":")[0];
        if (!host || host.includes(".") || host === "localhost") continue;
        check(host in services, `${name}: ${key} names the host ${host}, which is no service`);
        check(
          !(host in services) || reach(name).has(host),
          `${name}: ${key} names ${host}: depend on it (directly or through another service)`,
        );
      }
    }
  }
}
