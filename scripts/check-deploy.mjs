#!/usr/bin/env node
// Checks deploy/: every metric name the Grafana dashboard and the Prometheus alert rules mention
// is one kiln exports (read from a KilnMetrics registry of the compiled code: run `npm run build`
// first; `npm run check:deploy` does), every dashboard query parses, and the alert rules pass
// `promtool check rules` and their unit tests (`promtool test rules`). promtool comes with
// Debian's `prometheus` package; without it the script fails under CI=true and, elsewhere, runs
// the name check alone and says what to install.
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";

const root = fileURLToPath(new URL("..", import.meta.url));
const RULES = "deploy/prometheus/kiln-alerts.yml";
const RULE_TESTS = "deploy/prometheus/kiln-alerts.test.yml";
const DASHBOARD = "deploy/grafana/kiln-dashboard.json";

const load = (path) =>
  import(new URL(`../dist/${path}`, import.meta.url).href).catch((err) => {
    console.error(`check-deploy: cannot load the compiled ${path} (${err.message}); run \`npm run build\` first`);
    process.exit(2);
  });
const [{ KilnMetrics, exposedMetricNames, unknownMetricNames }, { createLogger }] = await Promise.all([
  load("server/index.js"),
  load("logger.js"),
]);

let failed = false;
const metrics = new KilnMetrics({ log: createLogger({ level: "silent" }) });
const exposed = await exposedMetricNames(metrics.registry);
metrics.close();
for (const file of [RULES, DASHBOARD]) {
  const unknown = unknownMetricNames(await readFile(join(root, file), "utf8"), exposed);
  if (unknown.length > 0) {
    failed = true;
    console.error(`check-deploy: ${file} names metrics kiln does not export: ${unknown.join(", ")}`);
  } else console.log(`check-deploy: ${file}: every metric name is one kiln exports`);
}

const version = spawnSync("promtool", ["--version"], { encoding: "utf8" });
if (version.error) {
  const install = "install Debian's prometheus package (apt-get install -y prometheus), which brings promtool";
  if (process.env.CI === "true") {
    console.error(`check-deploy: promtool not found on PATH: ${install}`);
    process.exit(1);
  }
  console.warn(`check-deploy: promtool not found on PATH, so the rules and dashboard queries were NOT checked: ${install}`);
  process.exit(failed ? 1 : 0);
}

/** Runs promtool in the repository root, echoing what it says; a non-zero exit fails the check. */
function promtool(...args) {
  const run = spawnSync("promtool", args, { cwd: root, encoding: "utf8" });
  process.stdout.write(run.stdout);
  process.stderr.write(run.stderr);
  if (run.status !== 0) failed = true;
}

promtool("check", "rules", RULES);
promtool("test", "rules", RULE_TESTS);
// promtool parses PromQL in rule files only: the dashboard's queries go in as recording rules,
// with Grafana's variables replaced by values of the same kind
const dashboard = JSON.parse(await readFile(join(root, DASHBOARD), "utf8"));
const rules = dashboard.panels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({
    record: `dashboard:panel_${panel.id}_${target.refId}`,
    expr: target.expr.replaceAll("$__rate_interval", "5m").replaceAll("$__range", "1h").replaceAll("$provider", ".*"),
  })),
);
const dir = await mkdtemp(join(tmpdir(), "kiln-dashboard-"));
try {
  await writeFile(join(dir, "dashboard-queries.yml"), stringify({ groups: [{ name: "dashboard", rules }] }));
  console.log(`check-deploy: ${DASHBOARD}: ${rules.length} queries`);
  promtool("check", "rules", join(dir, "dashboard-queries.yml"));
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
