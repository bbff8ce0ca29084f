#!/usr/bin/env node
// Docs that stay true (`npm run check:docs`, after `npm run build`): in every tracked Markdown
// file each relative link names a tracked file or folder and each anchor a heading of its target
// (offline: external links are not fetched); no tracked text file names a path of one machine;
// README.md stays within its line budget; README.md and docs/ state figures without commit
// hashes or issue numbers; the metrics table of docs/http-api.md lists exactly the metric
// families a KilnMetrics registry of the compiled code holds. The checks are in docs-checks.mjs.
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { brokenLinks, historyReferences, machinePaths, metricsTableProblems, readmeLength } from "./docs-checks.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const METRICS_PAGE = "docs/http-api.md";

const load = (path) =>
  import(new URL(`../dist/${path}`, import.meta.url).href).catch((err) => {
    console.error(`check-docs: cannot load the compiled ${path} (${err.message}); run \`npm run build\` first`);
    process.exit(2);
  });

/** Tracked files (the working tree's version of each): what a clone has, and nothing only this machine has. */
const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" }).split("\0").filter(Boolean);
const repoPaths = new Set(tracked);
for (const file of tracked) for (let dir = file; dir.includes("/");) repoPaths.add((dir = dir.slice(0, dir.lastIndexOf("/"))));

const contents = new Map();
for (const file of tracked) {
  const bytes = await readFile(join(root, file)).catch(() => undefined); // deleted in the working tree
  if (bytes && !bytes.includes(0)) contents.set(file, bytes.toString("utf8"));
}
const markdown = new Map([...contents].filter(([file]) => file.endsWith(".md")));

const [{ KilnMetrics }, { createLogger }] = await Promise.all([load("server/index.js"), load("logger.js")]);
const metrics = new KilnMetrics({ log: createLogger({ level: "silent" }) });
const registered = new Set((await metrics.registry.getMetricsAsJSON()).map(({ name }) => name));
metrics.close();

const checks = [
  ["relative links and anchors", brokenLinks(markdown, repoPaths)],
  ["machine paths", [...contents].flatMap(([file, text]) => machinePaths(file, text))],
  ["README length", readmeLength(markdown.get("README.md") ?? "")],
  [
    "commit hashes and issue numbers",
    [...markdown]
      .filter(([file]) => file === "README.md" || file.startsWith("docs/"))
      .flatMap(([file, text]) => historyReferences(file, text)),
  ],
  ["metrics table", metricsTableProblems(METRICS_PAGE, markdown.get(METRICS_PAGE) ?? "", registered)],
];
let failed = false;
for (const [name, problems] of checks) {
  if (problems.length === 0) console.log(`check-docs: ${name}: ok`);
  for (const problem of problems) console.error(`check-docs: ${name}: ${problem}`);
  failed ||= problems.length > 0;
}
console.log(`check-docs: ${markdown.size} Markdown files, ${contents.size} text files, ${registered.size} metric families`);
process.exit(failed ? 1 : 0);
