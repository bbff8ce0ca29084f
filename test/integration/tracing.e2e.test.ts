import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";
import { kiln } from "../support/kiln-cli.js";
import { OtlpReceiver, type ReceivedSpan } from "../support/otlp-receiver.js";
import { WorkerProcess } from "../support/worker-process.js";
import { API_TOKEN } from "../fixtures/http-api-client.js";
import { tracingConfig } from "../../src/config/index.js";
import { createLogger } from "../../src/logger.js";
import { startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { shutdownTracing, startTracing } from "../../src/telemetry/tracing.js";

const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

/** `00-<trace id>-<parent span id>-<flags>`, the W3C header. */
function parseTraceparent(header: string | undefined): { traceId: string; parentId: string } {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(header ?? "");
  if (!match) throw new Error(`not a traceparent: ${header}`);
  return { traceId: match[1]!, parentId: match[2]! };
}

/** Every span's parent is in the trace, and exactly one span (`root`) has none: one tree, nothing detached. */
function assertOneTree(spans: ReceivedSpan[], root: ReceivedSpan): void {
  const ids = new Set(spans.map((s) => s.spanId));
  const detached = spans.filter((s) => s !== root && !ids.has(s.parentSpanId));
  expect(detached.map((s) => `${s.service}:${s.name} (parent ${s.parentSpanId || "none"})`)).toEqual([]);
}

function parentOf(spans: ReceivedSpan[], span: ReceivedSpan): ReceivedSpan | undefined {
  return spans.find((s) => s.spanId === span.parentSpanId);
}

/** A one-line view of a span for failure messages and the docs: name, service, parent name, kiln's attributes. */
function describeSpan(spans: ReceivedSpan[], span: ReceivedSpan): string {
  const kilnAttributes = Object.entries(span.attributes).filter(([k]) => k.startsWith("kiln."));
  const url = span.attributes["url.full"] ? ` ${String(span.attributes["url.full"])}` : "";
  return `${span.service} ${span.name}${url} <- ${parentOf(spans, span)?.name ?? "(root)"} ${JSON.stringify(Object.fromEntries(kilnAttributes))}`;
}

/** Waits for the spans of a trace up to the webhook POST whose client span is `parentId`, and for the trace to be whole. */
async function wholeTrace(
  otlp: OtlpReceiver,
  traceId: string,
  parentId: string,
  root: (s: ReceivedSpan) => boolean,
): Promise<ReceivedSpan[]> {
  await otlp.waitFor(() => {
    const spans = otlp.trace(traceId);
    const ids = new Set(spans.map((s) => s.spanId));
    const top = spans.filter(root);
    return ids.has(parentId) && top.length === 1 && spans.every((s) => s === top[0] || ids.has(s.parentSpanId));
  });
  return otlp.trace(traceId);
}

describe("traces from the producer to the webhook receiver (OTLP/HTTP)", () => {
  const otlp = new OtlpReceiver();
  const h = new KilnHarness();
  let worker: WorkerProcess;
  let http: RunningHttpServer;
  let otelEnv: Record<string, string>;
  let workerStartedAt: number;

  beforeAll(async () => {
    await otlp.start();
    otelEnv = { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_BSP_SCHEDULE_DELAY: "100" };
    // this process is the producer (the TypeScript client, the HTTP API); the worker is a child process
    await startTracing(tracingConfig({ ...otelEnv, OTEL_SERVICE_NAME: "producer" }), { scheduledDelayMillis: 100 });
    await h.start({ workers: false, env: { KILN_API_TOKEN: API_TOKEN } });
    // a short stalled interval: BullMQ's housekeeping runs often, and none of it may be exported
    worker = await new WorkerProcess({ ...h.rawEnv, ...otelEnv, OTEL_SERVICE_NAME: "kiln-worker", KILN_STALLED_INTERVAL: "500ms" }).start();
    workerStartedAt = Date.now();
    http = await startHttpServer(h.env, createLogger({ level: "silent" }), { port: 0, host: "127.0.0.1" });
  });
  afterAll(async () => {
    await http?.close();
    await worker?.stop();
    await h.close();
    await shutdownTracing();
    await otlp.stop();
  });

  it("TypeScript client: one trace from its enqueue span through every visit and provider call to the receiver's traceparent", async () => {
    const id = `trace-${randomBytes(4).toString("hex")}`;
    await h.client.enqueue(h.request("hy-image-v3.0"), { id });
    await h.receiver.waitFor(() => h.receiver.of(id).length === 1);
    const { traceId, parentId } = parseTraceparent(h.receiver.of(id)[0]!.headers.traceparent);

    const isEnqueue = (s: ReceivedSpan) => s.name === "kiln.enqueue" && s.attributes["kiln.job_id"] === id;
    const spans = await wholeTrace(otlp, traceId, parentId, isEnqueue);
    const enqueue = spans.find(isEnqueue)!;
    expect(enqueue).toMatchObject({ service: "producer", parentSpanId: "" });
    expect(enqueue.attributes).toMatchObject({ "kiln.provider": "tokenhub", "kiln.model": "hy-image-v3.0" });
    assertOneTree(spans, enqueue);

    // BullMQ's add span (bullmq-otel) under the client's, and each visit's process span under it, in the worker
    const add = spans.find((s) => s.name === "add generate-tokenhub.generate")!;
    expect(add).toMatchObject({ kind: PRODUCER, parentSpanId: enqueue.spanId, service: "producer" });
    const visits = spans.filter((s) => s.name === "process generate-tokenhub");
    expect(visits.every((v) => v.kind === CONSUMER && v.service === "kiln-worker" && v.parentSpanId === add.spanId)).toBe(true);

    const steps = (name: string) => spans.filter((s) => s.name === name);
    const [submit] = steps("kiln.submit");
    const polls = steps("kiln.poll");
    const [archive] = steps("kiln.archive");
    const [notify] = steps("kiln.notify");
    expect(steps("kiln.submit")).toHaveLength(1);
    expect(polls.length).toBeGreaterThanOrEqual(1);
    expect(archive && notify).toBeTruthy();
    const taskId = String(submit!.attributes["kiln.task_id"]);
    expect(taskId).not.toBe("");
    for (const step of [submit!, ...polls, archive!, notify!]) {
      expect(step.service).toBe("kiln-worker");
      expect(visits.map((v) => v.spanId)).toContain(step.parentSpanId);
      expect(step.attributes).toMatchObject({ "kiln.provider": "tokenhub", "kiln.model": "hy-image-v3.0", "kiln.job_id": id });
      expect(typeof step.attributes["kiln.attempt"]).toBe("number");
      expect(typeof step.attributes["kiln.outcome"]).toBe("string");
    }
    expect(submit!.attributes["kiln.outcome"]).toBe("wait");
    expect(polls.map((p) => p.attributes["kiln.task_id"])).toEqual(polls.map(() => taskId));
    expect(notify!.attributes["kiln.outcome"]).toBe("completed");
    // a later visit, after moveToDelayed, still joins the trace: the first poll runs in a visit of its own
    const submitVisit = submit!.parentSpanId;
    expect(polls[0]!.parentSpanId).not.toBe(submitVisit);
    expect(Number(polls[0]!.attributes["kiln.attempt"])).toBeGreaterThan(Number(submit!.attributes["kiln.attempt"]));

    // the provider calls (undici): a POST under submit, a status request under each poll, the download under archive
    const calls = (parent: ReceivedSpan) => spans.filter((s) => s.kind === CLIENT && s.parentSpanId === parent.spanId);
    expect(calls(submit!).map((c) => c.attributes["http.request.method"])).toEqual(["POST"]);
    expect(String(calls(submit!)[0]!.attributes["url.full"])).toContain(h.simulator.url);
    for (const poll of polls) expect(calls(poll)).toHaveLength(1);
    expect(calls(archive!).length).toBeGreaterThanOrEqual(1);
    // the download URL is presigned: its query string stays out of the trace
    expect(String(calls(archive!)[0]!.attributes["url.full"])).toMatch(/\/files\/.+\?…$/);
    expect(spans.filter((s) => JSON.stringify(s.attributes).includes("q-signature"))).toEqual([]);

    // the webhook hop: enqueued under notify, delivered by the webhook worker, the POST's client span is the receiver's parent
    const webhookAdd = spans.find((s) => s.name === "add webhooks.deliver")!;
    expect(webhookAdd.parentSpanId).toBe(notify!.spanId);
    const delivery = spans.find((s) => s.name === "process webhooks")!;
    expect(delivery).toMatchObject({ kind: CONSUMER, parentSpanId: webhookAdd.spanId });
    const deliver = spans.find((s) => s.name === "kiln.webhook.deliver")!;
    expect(deliver.parentSpanId).toBe(delivery.spanId);
    expect(deliver.attributes).toMatchObject({
      "kiln.job_id": id,
      "kiln.provider": "tokenhub",
      "kiln.model": "hy-image-v3.0",
      "kiln.outcome": "delivered",
      "kiln.webhook.event": "generation.completed",
      "kiln.attempt": 1,
    });
    const post = spans.find((s) => s.spanId === parentId)!;
    expect(post).toMatchObject({ kind: CLIENT, parentSpanId: deliver.spanId });
    expect(String(post.attributes["url.full"])).toBe(h.receiver.url);

    console.log(`one trace, ${spans.length} spans:\n${spans.map((s) => `  ${describeSpan(spans, s)}`).join("\n")}`);
  });

  it("HTTP API: an incoming traceparent is honoured, so the receiver's trace is the caller's", async () => {
    const caller = { traceId: randomBytes(16).toString("hex"), spanId: randomBytes(8).toString("hex") };
    const id = `trace-api-${randomBytes(4).toString("hex")}`;
    const status = await post(
      `${http.url}/v1/generations`,
      { id, ...h.request("hy-image-v3.0") },
      {
        authorization: `Bearer ${API_TOKEN}`,
        traceparent: `00-${caller.traceId}-${caller.spanId}-01`,
      },
    );
    expect(status).toBe(201);
    await h.receiver.waitFor(() => h.receiver.of(id).length === 1);
    const { traceId, parentId } = parseTraceparent(h.receiver.of(id)[0]!.headers.traceparent);
    expect(traceId).toBe(caller.traceId);

    const isServer = (s: ReceivedSpan) => s.name === "POST /v1/generations";
    const spans = await wholeTrace(otlp, traceId, parentId, isServer);
    const server = spans.find(isServer)!;
    // the caller's span is the parent of kiln's first; the caller itself exports nothing here
    expect(server).toMatchObject({ kind: 2, parentSpanId: caller.spanId });
    expect(server.attributes["http.response.status_code"]).toBe(201);
    assertOneTree(spans, server);
    expect(spans.find((s) => s.name === "kiln.enqueue")!.parentSpanId).toBe(server.spanId);
    expect(spans.filter((s) => s.name === "kiln.poll").length).toBeGreaterThanOrEqual(1);
    expect(spans.find((s) => s.name === "kiln.webhook.deliver")!.attributes["kiln.job_id"]).toBe(id);
  });

  it("kiln enqueue: the CLI's span starts the trace and is sent before the command exits", async () => {
    const id = `trace-cli-${randomBytes(4).toString("hex")}`;
    const cli = await kiln(
      ["enqueue", "--model", "hy-image-v3.0", "--input", '{"prompt":"a kiln at dusk"}', "--webhook", h.receiver.url, "--id", id],
      {
        REDIS_URL: h.env.REDIS_URL,
        KILN_PREFIX: h.prefix,
        ...otelEnv,
        OTEL_SERVICE_NAME: "kiln-cli",
      },
    );
    expect(cli).toMatchObject({ code: 0, stdout: `${id}\n` });
    await h.receiver.waitFor(() => h.receiver.of(id).length === 1);
    const { traceId, parentId } = parseTraceparent(h.receiver.of(id)[0]!.headers.traceparent);
    const isEnqueue = (s: ReceivedSpan) => s.name === "kiln.enqueue" && s.service === "kiln-cli";
    const spans = await wholeTrace(otlp, traceId, parentId, isEnqueue);
    const enqueue = spans.find(isEnqueue)!;
    expect(enqueue).toMatchObject({ parentSpanId: "" });
    expect(enqueue.attributes["kiln.job_id"]).toBe(id);
    assertOneTree(spans, enqueue);
    expect(spans.filter((s) => s.name === "kiln.submit")).toHaveLength(1);
  });

  it("a job from an untraced producer (raw BullMQ): every visit's spans join the trace of its first visit", async () => {
    const id = `trace-raw-${randomBytes(4).toString("hex")}`;
    const queue = new Queue("generate-tokenhub", { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
    try {
      await queue.add("generate", h.request("hy-image-v3.0"), { jobId: id });
    } finally {
      await queue.close();
    }
    await h.receiver.waitFor(() => h.receiver.of(id).length === 1);
    const { traceId, parentId } = parseTraceparent(h.receiver.of(id)[0]!.headers.traceparent);
    const isFirstVisit = (s: ReceivedSpan) => s.name === "process generate-tokenhub" && s.parentSpanId === "";
    const spans = await wholeTrace(otlp, traceId, parentId, isFirstVisit);
    const first = spans.find(isFirstVisit)!;
    assertOneTree(spans, first);
    const submit = spans.find((s) => s.name === "kiln.submit")!;
    expect(submit).toMatchObject({ parentSpanId: first.spanId });
    expect(submit.attributes["kiln.job_id"]).toBe(id);
    // the later visits are BullMQ traces of their own; kiln's spans of them hang under the first visit
    const polls = spans.filter((s) => s.name === "kiln.poll");
    expect(polls.length).toBeGreaterThanOrEqual(1);
    expect(polls.every((p) => p.parentSpanId === first.spanId && Number(p.attributes["kiln.attempt"]) > 1)).toBe(true);
    expect(spans.filter((s) => s.name === "process generate-tokenhub")).toEqual([first]);
    expect(spans.find((s) => s.name === "kiln.webhook.deliver")!.attributes["kiln.job_id"]).toBe(id);
  });

  it("without OTEL_EXPORTER_OTLP_PROTOCOL, spans go out as protobuf (the specification's default)", async () => {
    const { OTEL_EXPORTER_OTLP_PROTOCOL: _json, ...protobufEnv } = otelEnv;
    const before = otlp.requests.length;
    const cli = await kiln(["enqueue", "--model", "hy-image-v3.0", "--input", '{"prompt":"a kiln at dawn"}'], {
      REDIS_URL: h.env.REDIS_URL,
      KILN_PREFIX: h.prefix,
      ...protobufEnv,
    });
    expect(cli.code).toBe(0);
    // the CLI exits only after its spans were sent
    const sent = otlp.requests.slice(before).filter((r) => r.contentType === "application/x-protobuf");
    expect(sent.length).toBeGreaterThanOrEqual(1);
    expect(sent.every((r) => r.path === "/v1/traces" && r.bytes > 0)).toBe(true);
  });

  it("BullMQ's housekeeping (the stalled check, every 500 ms here) is not exported: it belongs to no request", async () => {
    await new Promise((r) => setTimeout(r, Math.max(0, workerStartedAt + 2_000 - Date.now())));
    // the worker has exported spans by now (the tests above), so anything it sent would be here
    await otlp.waitFor((spans) => spans.some((s) => s.service === "kiln-worker" && s.name === "process webhooks"));
    await worker.stop();
    expect(otlp.spans.filter((s) => /^(moveStalledJobsToWait|startStalledCheckTimer) /.test(s.name))).toEqual([]);
  });
});

/** A POST through node:http, which no instrumentation touches: the only traceparent is the one given. */
function post(url: string, body: unknown, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers: { "content-type": "application/json", ...headers } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}
