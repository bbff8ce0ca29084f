import { UnrecoverableError } from "bullmq";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import type { GenerationResult } from "../../src/contract/generation-result.js";
import { callJson } from "../../src/providers/http-json.js";
import { KilnMetrics } from "../../src/server/kiln-metrics.js";
import { ProviderLabels } from "../../src/server/provider-labels.js";
import type { QueueCounts } from "../../src/queue/kiln-queues.js";
import { isFinalFailure } from "../../src/queue/final-failure.js";
import { getFreePort } from "@kiln/dev-tools";
import { sample } from "../fixtures/http-api-client.js";

const log = createLogger({ level: "silent" });

function result(timings: Partial<GenerationResult["timings"]>, status: "completed" | "failed" = "completed"): GenerationResult {
  return {
    id: "job-1",
    status,
    provider: "tokenhub",
    model: "hy-image-v3.0",
    outputs: [
      { index: 0, key: "k/0.png", url: "file:///k/0.png", contentType: "image/png", bytes: 1000, sha256: "a".repeat(64) },
      { index: 1, key: "k/1.png", url: "file:///k/1.png", contentType: "image/png", bytes: 234, sha256: "b".repeat(64) },
    ],
    timings: { enqueuedAt: "2026-01-01T00:00:00.000Z", finishedAt: "2026-01-01T00:00:40.000Z", ...timings },
  };
}

describe("KilnMetrics.recordResult", () => {
  it("observes provider, archive and total latencies from the result's timings, and counts archived bytes", async () => {
    const metrics = new KilnMetrics({ log, processMetrics: false });
    metrics.recordResult(
      "tokenhub",
      result({
        submittedAt: "2026-01-01T00:00:02.000Z",
        providerCompletedAt: "2026-01-01T00:00:32.000Z",
        archivedAt: "2026-01-01T00:00:39.500Z",
      }),
    );
    const text = await metrics.text();
    expect(sample(text, "kiln_generation_step_seconds_sum", { provider: "tokenhub", step: "provider", status: "completed" })).toBe(30);
    expect(sample(text, "kiln_generation_step_seconds_sum", { provider: "tokenhub", step: "archive", status: "completed" })).toBe(7.5);
    expect(sample(text, "kiln_generation_step_seconds_sum", { provider: "tokenhub", step: "total", status: "completed" })).toBe(40);
    // 30 s falls in the 30 s bucket, not the 10 s one
    expect(
      sample(text, "kiln_generation_step_seconds_bucket", { provider: "tokenhub", step: "provider", status: "completed", le: "10" }),
    ).toBe(0);
    expect(
      sample(text, "kiln_generation_step_seconds_bucket", { provider: "tokenhub", step: "provider", status: "completed", le: "30" }),
    ).toBe(1);
    expect(sample(text, "kiln_archived_bytes_total", { provider: "tokenhub" })).toBe(1234);
    expect(sample(text, "kiln_archived_outputs_total", { provider: "tokenhub" })).toBe(2);
  });

  it("skips the steps a result never reached (a job failed before submit has only a total)", async () => {
    const metrics = new KilnMetrics({ log, processMetrics: false });
    metrics.recordResult("gateway", { ...result({}, "failed"), outputs: [] });
    const text = await metrics.text();
    expect(sample(text, "kiln_generation_step_seconds_count", { provider: "gateway", step: "total", status: "failed" })).toBe(1);
    expect(sample(text, "kiln_generation_step_seconds_count", { provider: "gateway", step: "provider", status: "failed" })).toBeUndefined();
    expect(sample(text, "kiln_generation_step_seconds_count", { provider: "gateway", step: "archive", status: "failed" })).toBeUndefined();
  });
});

describe("kiln_generation_failures_total", () => {
  it("counts failed results by provider and error code, and completed ones not at all", async () => {
    const metrics = new KilnMetrics({ log, processMetrics: false });
    const failed = (code: "task_failed" | "archive_failed") => ({
      ...result({}, "failed"),
      outputs: [],
      error: { code, message: "m", retryable: false },
    });
    metrics.recordResult("tokenhub", failed("task_failed"));
    metrics.recordResult("tokenhub", failed("task_failed"));
    metrics.recordResult("gateway", failed("archive_failed"));
    metrics.recordResult("tokenhub", result({}));
    const text = await metrics.text();
    expect(sample(text, "kiln_generation_failures_total", { provider: "tokenhub", code: "task_failed" })).toBe(2);
    expect(sample(text, "kiln_generation_failures_total", { provider: "gateway", code: "archive_failed" })).toBe(1);
    expect(text.match(/^kiln_generation_failures_total\{/gm)).toHaveLength(2);
  });
});

describe("KilnMetrics job gauges", () => {
  const counts: QueueCounts = { generation: { tokenhub: { waiting: 3, completed: 7 }, gateway: { waiting: 0 } }, webhooks: { delayed: 2 } };

  it("read the counts once per scrape and fill both gauges from them", async () => {
    let reads = 0;
    const metrics = new KilnMetrics({ log, processMetrics: false, counts: async () => (reads++, counts) });
    const text = await metrics.text();
    expect(reads).toBe(1);
    expect(sample(text, "kiln_jobs", { provider: "tokenhub", state: "waiting" })).toBe(3);
    expect(sample(text, "kiln_jobs", { provider: "tokenhub", state: "completed" })).toBe(7);
    expect(sample(text, "kiln_jobs", { provider: "gateway", state: "waiting" })).toBe(0);
    expect(sample(text, "kiln_webhook_jobs", { state: "delayed" })).toBe(2);
  });

  it("answer a scrape without job series when the counts fail or hang, instead of failing it", async () => {
    const failing = new KilnMetrics({ log, processMetrics: false, counts: () => Promise.reject(new Error("redis down")) });
    expect(sample(await failing.text(), "kiln_jobs", { provider: "tokenhub", state: "waiting" })).toBeUndefined();
    const hanging = new KilnMetrics({
      log,
      processMetrics: false,
      countsTimeoutMs: 100,
      counts: () => new Promise<QueueCounts>(() => undefined),
    });
    const started = Date.now();
    expect(await hanging.text()).toContain("# TYPE kiln_jobs gauge");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("refuses a counts timeout out of range, naming the option", () => {
    expect(() => new KilnMetrics({ log, countsTimeoutMs: 5 })).toThrow(/countsTimeoutMs: must be an integer from 100 to 60000/);
  });
});

describe("provider responses through the http-json observer", () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(req.url?.includes("busy") ? 429 : 200, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("counts each answer by provider (from the base URL) and status, and refused connections as network", async () => {
    const refused = `http://127.0.0.1:${await getFreePort()}`;
    const metrics = new KilnMetrics({
      log,
      processMetrics: false,
      providers: new ProviderLabels({ GATEWAY_BASE_URL: [`${base}/`], WCODE_BASE_URL: [refused] }),
    });
    await callJson({ baseUrls: [base], path: "ok", apiKey: "k" });
    await expect(callJson({ baseUrls: [base], path: "busy", apiKey: "k" })).rejects.toThrow();
    await expect(callJson({ baseUrls: [refused], path: "x", apiKey: "k" })).rejects.toThrow();
    metrics.close();
    // after close the observer is gone: this call is not counted
    await callJson({ baseUrls: [base], path: "ok", apiKey: "k" });
    const text = await metrics.text();
    expect(sample(text, "kiln_provider_responses_total", { provider: "gateway", status: "200" })).toBe(1);
    expect(sample(text, "kiln_provider_responses_total", { provider: "gateway", status: "429" })).toBe(1);
    expect(sample(text, "kiln_provider_responses_total", { provider: "wcode", status: "network" })).toBe(1);
    expect(sample(text, "kiln_provider_response_seconds_count", { provider: "gateway" })).toBe(2);
  });

  it("labels an unknown base URL by its host", () => {
    const labels = new ProviderLabels({ TOKENHUB_BASE_URL: ["https://tokenhub.example.com"] });
    expect(labels.of({ baseUrl: "https://tokenhub.example.com/", host: "tokenhub.example.com" })).toBe("tokenhub");
    expect(labels.of({ baseUrl: "https://other.example.com:8443", host: "other.example.com:8443" })).toBe("other.example.com:8443");
  });
});

describe("isFinalFailure", () => {
  const job = (attemptsMade: number, attempts?: number) => ({ attemptsMade, opts: { attempts } });
  it("is final for an unrecoverable error, or once the attempts are used up (attemptsMade already counts this one)", () => {
    expect(isFinalFailure(job(1, 8), new UnrecoverableError("no"))).toBe(true);
    // recognised by its type, not by a name any error can carry
    expect(isFinalFailure(job(1, 8), Object.assign(new Error("x"), { name: "UnrecoverableError" }))).toBe(false);
    expect(isFinalFailure(job(1, 8), new Error("delivery"))).toBe(false);
    expect(isFinalFailure(job(8, 8), new Error("delivery"))).toBe(true);
    expect(isFinalFailure(job(1), new Error("x"))).toBe(true);
  });
});

describe("the submit window", () => {
  it("is re-entered by a visit at submit after a call whose outcome is unknown, and only then", async () => {
    const { reentersSubmitWindow } = await import("../../src/server/worker-metrics.js");
    expect(reentersSubmitWindow({ step: "submit", submitCalls: 1 })).toBe(true);
    expect(reentersSubmitWindow({ step: "submit", submitCalls: 0 })).toBe(false);
    expect(reentersSubmitWindow({ step: "submit", submitCalls: 2, taskId: "t" })).toBe(false);
    expect(reentersSubmitWindow({ step: "poll", submitCalls: 1 })).toBe(false);
    expect(reentersSubmitWindow(undefined)).toBe(false);
  });
});
