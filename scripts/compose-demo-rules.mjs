// The demo profile's rules for scripts/check-compose.mjs: what `docker compose --profile demo up`
// needs to run kiln against its simulator, as far as the files tell without Docker.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { bindMountsOf, dockerfileStages, envOf, stageContent, subcommandOf } from "./compose-files.mjs";

/** A service of the demo profile. */
export const isDemo = (service) => (service?.profiles ?? []).includes("demo");

/**
 * The demo profile: the simulator (from a Dockerfile target that holds kiln's dev tools) at the
 * address its result URLs name, a worker on it for all three providers, and something that
 * enqueues. `ctx`: the compose file's services and directory, the variables it is interpolated
 * with, and the check's `check(ok, message)` and `problems`.
 */
export function checkDemo(ctx) {
  const { services, check } = ctx;
  const demo = Object.entries(services).filter(([, s]) => isDemo(s));
  if (!check(demo.length > 0, "no demo profile: add services with profiles: [demo]")) return;
  const simulatorEntry = demo.find(([, s]) => subcommandOf(s) === "simulate");
  if (!check(simulatorEntry !== undefined, "demo profile: no service runs `kiln simulate`")) return;
  const [simulatorName, simulator] = simulatorEntry;
  const args = [simulator.command].flat().map(String);
  const flag = (f) => (args.includes(f) ? args[args.indexOf(f) + 1] : undefined);
  const base = `http://${simulatorName}:${flag("--port") ?? "8089"}`;
  check(flag("--host") === "0.0.0.0", `${simulatorName}: bind --host 0.0.0.0, or no other container reaches it`);
  check(
    flag("--public-url") === base,
    `${simulatorName}: --public-url ${base}: its result URLs must name it as workers reach it (it is ${flag("--public-url") ?? "unset"})`,
  );
  checkDevToolsTarget(ctx, simulatorName, simulator);
  // where `kiln simulate` serves each provider (its banner prints the same)
  const urls = { TOKENHUB: base, GATEWAY: `${base}/gateway`, WCODE: `${base}/wcode/api/gpt/v1` };
  const demoWorkers = demo.filter(([, s]) => subcommandOf(s) === "worker");
  check(demoWorkers.length > 0, "demo profile: no service runs `kiln worker`");
  for (const [name, worker] of demoWorkers) {
    const env = envOf(worker);
    for (const [provider, url] of Object.entries(urls)) {
      const key = env[`${provider}_API_KEY`];
      check(
        env[`${provider}_BASE_URL`] === url,
        `${name}: ${provider}_BASE_URL: the simulator's, ${url} (it is ${env[`${provider}_BASE_URL`] ?? "unset"})`,
      );
      check(
        Boolean(key) && !String(key).includes("${"),
        `${name}: ${provider}_API_KEY: a fixed key (the simulator takes any), never .env's real one`,
      );
    }
    check(
      env.KILN_ALLOW_PRIVATE_URLS === "true",
      `${name}: KILN_ALLOW_PRIVATE_URLS: "true" (the simulator's result URLs are on a private address)`,
    );
    check(worker.depends_on?.[simulatorName] !== undefined, `${name}: depend on ${simulatorName}`);
    const prefix = env.KILN_PREFIX;
    check(
      Boolean(prefix) && prefix !== "{kiln}" && !String(prefix).includes("${"),
      `${name}: a KILN_PREFIX of its own, so the worker outside the profile (same Redis) never takes a demo job`,
    );
  }
  const enqueuers = demo.filter(([, s]) => ["bulk", "enqueue"].includes(subcommandOf(s)));
  check(enqueuers.length > 0, "demo profile: no service enqueues requests (kiln bulk or kiln enqueue)");
  const prefixes = demoWorkers.map(([, w]) => envOf(w).KILN_PREFIX);
  for (const [name, service] of enqueuers) {
    check(prefixes.includes(envOf(service).KILN_PREFIX), `${name}: enqueue on the demo worker's KILN_PREFIX (${prefixes.join(", ")})`);
    if (subcommandOf(service) === "bulk") checkManifest(ctx, name, service);
  }
}

/** `kiln bulk <manifest>`: the manifest is a mounted file of requests to the three providers. */
function checkManifest({ dir, vars, check, problems }, name, service) {
  const target = [service.command].flat()[1];
  const mount = bindMountsOf(service, dir, vars).find((m) => m.target === target);
  if (!check(mount !== undefined && existsSync(mount.source), `${name}: the manifest ${target} is no mounted file`)) return;
  const lines = readFileSync(mount.source, "utf8")
    .split("\n")
    .filter((l) => l.trim());
  const providers = new Set();
  for (const [i, line] of lines.entries()) {
    try {
      providers.add(JSON.parse(line).provider);
    } catch (err) {
      problems.push(`${name}: ${mount.source} line ${i + 1}: not JSON (${err.message})`);
    }
  }
  check(
    ["tokenhub", "gateway", "wcode"].every((p) => providers.has(p)),
    `${name}: ${mount.source}: ask each of the three providers`,
  );
}

/** The simulator's image: a Dockerfile stage that holds kiln's dev tools, which the default (product) stage does not. */
function checkDevToolsTarget({ dir, check }, name, service) {
  const build = typeof service.build === "string" ? { context: service.build } : service.build;
  if (
    !check(
      build?.target !== undefined,
      `${name}: build the Dockerfile target with kiln's dev tools (target: demo); the default one leaves them out`,
    )
  )
    return;
  const dockerfile = resolve(dir, build.context ?? ".", build.dockerfile ?? "Dockerfile");
  const stages = dockerfileStages(dockerfile);
  const stage = stages.find((s) => s.name === build.target);
  if (!check(stage !== undefined, `${name}: ${dockerfile} has no stage ${build.target}`)) return;
  const copies = (lines, what) => lines.some((l) => /^COPY\b/i.test(l) && l.includes(what));
  const content = stageContent(stages, stage);
  for (const part of ["packages/dev-tools/package.json", "packages/dev-tools/dist"])
    check(
      copies(content, part),
      `${name}: the Dockerfile's ${build.target} stage copies no ${part}: kiln simulate would say it lacks the dev tools`,
    );
  check(
    content.some((l) => /^ENTRYPOINT\b.*bin\/kiln\.js/.test(l)),
    `${name}: the Dockerfile's ${build.target} stage does not run kiln (ENTRYPOINT ... bin/kiln.js)`,
  );
  check(
    !copies(stageContent(stages, stages.at(-1)), "packages/dev-tools"),
    "the Dockerfile's last stage (the default target, the product) copies kiln's dev tools",
  );
}
