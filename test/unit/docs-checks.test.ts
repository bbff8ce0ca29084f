import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { anchorsOf, brokenLinks, historyReferences, machinePaths, metricsTableProblems, readmeLength } from "../../scripts/docs-checks.mjs";
import { createLogger } from "../../src/logger.js";
import { KilnMetrics } from "../../src/server/kiln-metrics.js";

const METRICS_PAGE = "docs/http-api.md";
const metricsPage = readFileSync(new URL(`../../${METRICS_PAGE}`, import.meta.url), "utf8");

async function registeredFamilies(): Promise<Set<string>> {
  const metrics = new KilnMetrics({ log: createLogger({ level: "silent" }) });
  try {
    return new Set((await metrics.registry.getMetricsAsJSON()).map(({ name }) => name));
  } finally {
    metrics.close();
  }
}

describe("relative links and anchors", () => {
  const repo = new Set(["README.md", "docs", "docs/guide.md", "src", "src/main.ts"]);
  const guide = "# Guide\n\n## Redis Cluster\n\n## `kiln bulk`: budgets\n";
  const check = (readme: string) =>
    brokenLinks(
      new Map([
        ["README.md", readme],
        ["docs/guide.md", guide],
      ]),
      repo,
    );

  it("passes files, folders and anchors that exist, GitHub's slugs for headings", () => {
    expect([...anchorsOf(guide)]).toEqual(["guide", "redis-cluster", "kiln-bulk-budgets"]);
    const good =
      "# Top\n\n[a](docs/guide.md#redis-cluster) [b](docs/guide.md#kiln-bulk-budgets) [c](src/) [d](#top) [e](https://x.test/nope.md)\n";
    expect(check(good)).toEqual([]);
  });

  it("fails a link to a file the repository does not hold", () => {
    expect(check("# Top\n\nsee [it](docs/gone.md)\n")).toEqual([
      "README.md:3: link to docs/gone.md: docs/gone.md is not a file or folder of the repository",
    ]);
  });

  it("fails an anchor that no heading of the target makes, in another file or the same one", () => {
    expect(check("# Top\n\n[a](docs/guide.md#redis-clusters) [b](#bottom)\n")).toEqual([
      "README.md:3: link to docs/guide.md#redis-clusters: docs/guide.md has no heading whose anchor is #redis-clusters",
      "README.md:3: link to #bottom: README.md has no heading whose anchor is #bottom",
    ]);
  });

  it("leaves links inside code blocks alone", () => {
    expect(check("# Top\n\n```md\n[a](docs/gone.md)\n```\n")).toEqual([]);
  });
});

describe("machine paths", () => {
  // built from parts so that this file does not name such a path itself
  const home = ["", "home", "dev", "kiln", "README.md"].join("/");
  const tree = ["", "work", "shared", "seeds", ""].join("/");
  const runUrl = ["file://", "tmp", "kiln-ci", "archive"].join("/");

  it("fails a development machine's work tree, a home directory and a file URL into /tmp", () => {
    expect(machinePaths("docs/a.md", `kept in \`${tree}\`\nsee ${home}\n${runUrl}\n`)).toEqual([
      `docs/a.md:1: the development machine's work tree: ${tree}\``,
      `docs/a.md:2: a person's home directory: ${home}`,
      `docs/a.md:3: a file URL into one run's temporary directory: ${runUrl}`,
    ]);
  });

  it("passes /tmp paths any machine has, URL paths and hostile file URLs", () => {
    const text = "BENCH_CPU_PROF=/tmp/prof npm run bench\nhttps://example.com/work/x\nfile:///etc/passwd\nsrc/work/x.ts\n";
    expect(machinePaths("docs/a.md", text)).toEqual([]);
  });
});

describe("the README's budget", () => {
  it("passes 200 lines and fails 201", () => {
    expect(readmeLength("line\n".repeat(200))).toEqual([]);
    expect(readmeLength("line\n".repeat(201))).toEqual(["README.md: 201 lines, over its budget of 200"]);
  });
});

describe("commit hashes and issue numbers", () => {
  it("fails them in prose and passes output samples in code blocks", () => {
    const page = "One run at commit b044221, goal (issue 9), see #13.\n\n```\nsha256 fa8ce4aff2e9d128\n    #1  503\n```\n";
    expect(historyReferences("README.md", page)).toEqual([
      "README.md:1: a commit hash (b044221)",
      "README.md:1: an issue number (issue 9)",
      "README.md:1: an issue number (#13)",
    ]);
    expect(historyReferences("README.md", "20,000 tasks at 343 polls/s, RSS 136 MB; decade deadbeef\n")).toEqual([]);
  });
});

describe(`the metrics table of ${METRICS_PAGE}`, () => {
  it("lists exactly the metric families a KilnMetrics registry holds", async () => {
    expect(metricsTableProblems(METRICS_PAGE, metricsPage, await registeredFamilies())).toEqual([]);
  });

  it("fails when a registered metric has no row", async () => {
    const row = metricsPage.split("\n").find((line) => line.startsWith("| `kiln_submit_store_seconds`"));
    expect(row).toBeDefined();
    const without = metricsPage.replace(`${row}\n`, "");
    expect(metricsTableProblems(METRICS_PAGE, without, await registeredFamilies())).toEqual([
      `${METRICS_PAGE}: kiln registers kiln_submit_store_seconds, which the metrics table lacks`,
    ]);
  });

  it("fails a row that names no registered metric", async () => {
    const registered = await registeredFamilies();
    registered.delete("kiln_polls_total");
    expect(metricsTableProblems(METRICS_PAGE, metricsPage, registered)).toEqual([
      `${METRICS_PAGE}: the metrics table names kiln_polls_total, which kiln does not register`,
    ]);
  });
});
