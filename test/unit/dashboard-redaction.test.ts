import { describe, expect, it } from "vitest";
import { redactDashboard, type DashboardAdapter } from "../../src/server/dashboard-redaction.js";
import { REDACTED, SecretScrubber } from "../../src/util/secret-scrubber.js";

/** The part of bull-board's adapter redactDashboard hooks, holding one job. */
function adapterWith(job: Record<string, unknown>): DashboardAdapter & { formatters: Map<string, (value: unknown) => unknown> } {
  const formatters = new Map<string, (value: unknown) => unknown>();
  return {
    formatters,
    setFormatter: (field, formatter) => formatters.set(field, formatter),
    getJob: async () => structuredClone(job),
    getJobs: async () => [structuredClone(job)],
  };
}

describe("redactDashboard", () => {
  const [newest, oldest] = ["whsec_bmV3ZXN0LXNlY3JldC1vZi10aGUtdHdv", "whsec_b2xkZXN0LXNlY3JldC1vZi10aGUtdHdv"];
  const job = {
    data: { webhook: { url: "https://example.com/h", secrets: [newest, oldest] } },
    failedReason: `receiver quoted ${oldest} back`,
    stacktrace: [`Error: signed with ${newest}`],
  };

  it("blanks a job's webhook.secrets in its data and replaces each of them in its failed reason and stack", async () => {
    const adapter = adapterWith(job);
    redactDashboard(adapter, new SecretScrubber([]));
    expect(adapter.formatters.get("data")!(job.data)).toEqual({ webhook: { url: "https://example.com/h", secrets: REDACTED } });
    // bull-board shows the data through the formatter above; the job's own fields are scrubbed as it is read
    for (const shown of [await adapter.getJob("1"), ...(await adapter.getJobs())])
      expect(shown).toMatchObject({ failedReason: `receiver quoted ${REDACTED} back`, stacktrace: [`Error: signed with ${REDACTED}`] });
  });
});
