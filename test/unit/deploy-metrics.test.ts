import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { createLogger } from "../../src/logger.js";
import { KilnMetrics } from "../../src/server/kiln-metrics.js";
import { exposedMetricNames, unknownMetricNames } from "../../src/server/metric-names.js";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const RULES = "deploy/prometheus/kiln-alerts.yml";
const DASHBOARD = "deploy/grafana/kiln-dashboard.json";

async function exposed(): Promise<Set<string>> {
  const metrics = new KilnMetrics({ log: createLogger({ level: "silent" }) });
  try {
    return await exposedMetricNames(metrics.registry);
  } finally {
    metrics.close();
  }
}

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface Panel {
  id: number;
  type: string;
  datasource?: { uid: string };
  targets?: Array<{ expr: string; datasource?: { uid: string } }>;
}

describe("deploy/: the alert rules and the dashboard name only metrics kiln exports", () => {
  it.each([RULES, DASHBOARD])("%s", async (file) => {
    expect(unknownMetricNames(read(file), await exposed())).toEqual([]);
  });

  it("reports a renamed or misspelled metric, and accepts histogram samples and Prometheus' up", async () => {
    const names = await exposed();
    const text = 'rate(kiln_generation_step_seconds_bucket[5m]) kiln_jobs_total kiln_webhook_job{state="failed"} up{job="kiln"}';
    expect(unknownMetricNames(text, names)).toEqual(["kiln_jobs_total", "kiln_webhook_job"]);
  });
});

describe("deploy/prometheus/kiln-alerts.yml", () => {
  const rules = (parse(read(RULES)) as { groups: Array<{ rules: AlertRule[] }> }).groups.flatMap((g) => g.rules);
  const headings = new Set(
    [...read("docs/operations.md").matchAll(/^#+ (.+)$/gm)].map(([, title]) =>
      title!
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, "")
        .replaceAll(" ", "-"),
    ),
  );

  it.each(rules.map((r) => [r.alert, r] as const))(
    "%s has a for, a severity, a summary, a description and a runbook section",
    (_, rule) => {
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(["critical", "warning", "info"]).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toBeTruthy();
      expect(rule.annotations?.description).toBeTruthy();
      expect(rule.annotations?.runbook_url).toBe(`docs/operations.md#${rule.alert.toLowerCase()}`);
      expect(headings).toContain(rule.alert.toLowerCase());
    },
  );
});

describe("deploy/grafana/kiln-dashboard.json", () => {
  const dashboard = JSON.parse(read(DASHBOARD)) as {
    schemaVersion: number;
    templating: { list: Array<{ name: string; type: string; query: unknown }> };
    panels: Panel[];
  };

  it("picks its Prometheus in a datasource variable and filters by a provider variable", () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const variables = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]));
    expect(variables.DS_PROMETHEUS).toMatchObject({ type: "datasource", query: "prometheus" });
    expect(variables.provider).toMatchObject({ type: "query" });
  });

  it("queries that datasource in every panel, with unique panel ids", () => {
    const panels = dashboard.panels.filter((p) => p.type !== "row");
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const panel of panels) {
      expect(panel.datasource?.uid).toBe("${DS_PROMETHEUS}");
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.datasource?.uid).toBe("${DS_PROMETHEUS}");
    }
  });
});
