import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { generateQueueName } from "../../src/contract/queue-names.js";
import { createLogger } from "../../src/logger.js";
import { startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { startKilnWorkers } from "../../src/workers/kiln-workers.js";
import { API_TOKEN, call, eventually, sample, untilRedisConnected } from "../fixtures/http-api-client.js";
import { sameMintedIdInTwoQueues } from "../support/same-minted-id.js";
import { KilnHarness } from "../support/kiln-harness.js";

const silent = createLogger({ level: "silent" });
const READ_TOKEN = "test-read-token-0123456789abcdef";

/** `{a: {a: ... 1}}`, `levels` objects deep. */
function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe("the HTTP API (kiln worker with KILN_HTTP_PORT)", () => {
  const h = new KilnHarness();
  let http: RunningHttpServer;
  const get = (path: string, token: string | undefined = API_TOKEN) => call(http.url, "GET", path, { token });
  const post = (json: unknown, token: string | undefined = API_TOKEN) => call(http.url, "POST", "/v1/generations", { json, token });

  beforeAll(async () => {
    // a job limit under the body limit, so that the job's own limit is what a big request meets
    await h.start({ workers: false, env: { KILN_API_TOKEN: API_TOKEN, KILN_READ_TOKEN: READ_TOKEN, KILN_MAX_JOB_BYTES: "256KiB" } });
    // as `kiln worker` wires it: the server first, its metrics handed to the workers
    http = await startHttpServer(h.env, silent, {
      port: 0,
      host: "127.0.0.1",
      workersRunning: () => h.workers?.isRunning() ?? false,
      archiveReady: () => h.workers!.archiveReady(),
    });
    h.workers = await startKilnWorkers(h.env, silent, { webhookSchedule: [100, 200, 400], rawEnv: h.rawEnv, metrics: http.metrics });
    await untilRedisConnected(http.url);
  });
  afterAll(async () => {
    await http?.close();
    await h.close();
  });

  it("/healthz answers 200 while the process is up", async () => {
    const answer = await get("/healthz");
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: "ok" });
  });

  it("/readyz is ready when Redis answers, the workers run and the archive takes a put", async () => {
    const answer = await get("/readyz");
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: "ready", checks: { redis: { ok: true }, workers: { ok: true }, archive: { ok: true } } });
  });

  it("refuses a write without a token (401, with a Bearer challenge), before reading the body", async () => {
    const answer = await call(http.url, "POST", "/v1/generations", { raw: "{not json" });
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer realm="kiln"/);
    expect(answer.body).toEqual({ error: { code: "unauthorized", message: expect.stringContaining("missing bearer token") } });
  });

  it("refuses a write with a wrong token (401) and enqueues nothing", async () => {
    const answer = await call(http.url, "POST", "/v1/generations", {
      json: { ...h.request("hy-image-lite"), id: "wrong-token-1" },
      token: `${API_TOKEN}x`,
    });
    expect(answer.status).toBe(401);
    expect(answer.body.error).toEqual({ code: "unauthorized", message: "invalid bearer token" });
    expect(answer.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(await h.client.get("wrong-token-1")).toBeUndefined();
  });

  it("answers 400 naming the field for a malformed body", async () => {
    const missing = await post({ provider: "tokenhub", model: "hy-image-v3.0", input: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe("invalid_request");
    expect(missing.body.error.message).toContain("input.prompt");

    const typo = await post({ ...h.request("hy-image-lite"), webhok: { url: "https://example.com" } });
    expect(typo.status).toBe(400);
    expect(typo.body.error.message).toContain("webhok");

    const badId = await post({ ...h.request("hy-image-lite"), id: "12345" });
    expect(badId.status).toBe(400);
    expect(badId.body.error.message).toMatch(/^id: /);

    const notJson = await call(http.url, "POST", "/v1/generations", { raw: '{"provider": ', token: API_TOKEN });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toEqual({ code: "invalid_request", message: expect.stringContaining("not valid JSON") });

    const text = await fetch(new URL("/v1/generations", http.url), {
      method: "POST",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "text/plain" },
      body: "a picture",
    });
    expect(text.status).toBe(415);
    expect(((await text.json()) as { error: { code: string } }).error.code).toBe("unsupported_media_type");
  });

  it("serves an OpenAPI 3.1 document at /openapi.json describing every route, its parameters and its body", async () => {
    const answer = await get("/openapi.json");
    expect(answer.status).toBe(200);
    const doc = answer.body;
    expect(doc).toMatchObject({ openapi: "3.1.0", info: { title: "kiln HTTP API" } });
    const described = Object.entries(doc.paths as Record<string, Record<string, { summary: string }>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(described.sort()).toEqual(
      [
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /openapi.json",
        "GET /v1/generations",
        "GET /v1/generations/{id}",
        "GET /v1/generations/{id}/outputs/{index}",
        "GET /v1/generations/{id}/events",
        "POST /v1/generations",
        "POST /v1/generations/{id}/cancel",
        "GET /v1/batches",
        "POST /v1/generations/{id}/retry",
        "GET /v1/batches/{id}",
        "GET /v1/batches/{id}/events",
        "POST /v1/batches",
        "GET /v1/tenants/{id}/usage",
        "GET /v1/webhooks/public-keys",
      ].sort(),
    );
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { summary: string }>>)) {
      for (const [method, op] of Object.entries(ops)) expect(op.summary, `${method} ${path}`).not.toBe("undocumented route");
    }
    const read = doc.paths["/v1/generations/{id}"].get;
    const components = doc.components.schemas;
    expect(read.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "id", in: "path", required: true }),
        expect.objectContaining({
          name: "provider",
          in: "query",
          schema: expect.objectContaining({ $ref: "#/components/schemas/Provider" }),
        }),
      ]),
    );
    expect(components.Provider.enum).toEqual(["tokenhub", "gateway", "wcode"]);
    const post = doc.paths["/v1/generations"].post;
    expect(post.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/GenerationRequest" });
    const body = components.GenerationRequest;
    expect(body.required).toEqual(expect.arrayContaining(["provider", "model", "input"]));
    expect(Object.keys(body.properties)).toEqual(
      expect.arrayContaining(["id", "provider", "model", "input", "webhook", "archive", "metadata"]),
    );
    expect(body.additionalProperties).toBe(false);
    expect(post.responses["201"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Generation" });
    expect(components.Generation.properties).toHaveProperty("state");
  });

  it("refuses a body or parameter that fails the route's schema with a 400 naming the field, before the handler runs", async () => {
    const wrongType = await post({ ...h.request("hy-image-lite"), id: "schema-type-1", model: 5 });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error).toEqual({ code: "invalid_request", message: "model: must be string (in the body)" });
    expect(await h.client.get("schema-type-1")).toBeUndefined();

    const missing = await post({ provider: "tokenhub", input: {} });
    expect(missing.body.error.message).toBe("model: is required (in the body)");
    const unknown = await post({ ...h.request("hy-image-lite"), webhok: { url: "https://example.com" } });
    expect(unknown.body.error.message).toBe('(root): Unrecognized key: "webhok" (in the body)');
    const nested = await post({ ...h.request("hy-image-lite"), webhook: { url: "https://example.com", events: ["generation.done"] } });
    expect(nested.status).toBe(400);
    expect(nested.body.error.message).toMatch(/^webhook\.events\.0: expected one of generation\.completed, /);
    const badId = await post({ ...h.request("hy-image-lite"), id: "a:b" });
    expect(badId.body.error.message).toBe("id: must be 1-256 characters, no ':', not only digits, not '.' or '..' (in the body)");

    // reads may need a token once KILN_READ_TOKEN exists: send one, so the schema is what answers
    const badQuery = await call(http.url, "GET", "/v1/generations/anything?provider=nope", { token: API_TOKEN });
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.error).toEqual({
      code: "invalid_request",
      message: "provider: expected one of tokenhub, gateway, wcode (in the query string)",
    });
    const extraQuery = await call(http.url, "POST", "/v1/generations/anything/cancel?providr=tokenhub", { token: API_TOKEN });
    expect(extraQuery.status).toBe(400);
    expect(extraQuery.body.error.message).toBe('(root): Unrecognized key: "providr" (in the query string)');
  });

  it("refuses archive prefixes that leave the archive's root or split its folders, naming the field, for generations and batches", async () => {
    const prefixes = ["/", "/abs", "a//b", "a/", ".", "a/./b", "../../x", "a/..", "a\u0000b", "a\nb", "x".repeat(513)];
    for (const [i, prefix] of prefixes.entries()) {
      const id = `http-prefix-${i}`;
      const job = await post({ ...h.request("hy-image-lite", {}, { archive: { prefix } }), id });
      expect(job.status, prefix).toBe(400);
      expect(job.body.error.code).toBe("invalid_request");
      expect(job.body.error.message, prefix).toMatch(/^archive\.prefix: /);
      expect(await h.client.get(id)).toBeUndefined();

      const batchId = `http-prefix-batch-${i}`;
      const batch = await call(http.url, "POST", "/v1/batches", {
        json: { id: batchId, requests: [{ custom_id: "one", ...h.chatRequest("wcode", "hunyuan-lite") }], archive_prefix: prefix },
        token: API_TOKEN,
      });
      expect(batch.status, prefix).toBe(400);
      expect(batch.body.error.message, prefix).toMatch(/^archive_prefix: /);
      expect(await h.client.getBatch(batchId)).toBeUndefined();
    }
    const fine = await post({ ...h.request("hy-image-lite", {}, { archive: { prefix: "team-a/renders.v2" } }), id: "http-prefix-fine" });
    expect(fine.status).toBe(201);
  });

  it("answers 400, never 500, for JSON nested deeper than 64 levels, before anything is stored, and again on a retry", async () => {
    for (const [field, body] of [
      ["input", { ...h.request("hy-image-lite", { extra: nested(2000) }), id: "http-deep-input" }],
      ["metadata", { ...h.request("hy-image-lite"), metadata: { deep: nested(2000) }, id: "http-deep-metadata" }],
      ["metadata", { ...h.request("hy-image-lite"), metadata: nested(65), id: "http-deep-65" }],
    ] as const) {
      for (const attempt of [1, 2]) {
        const answer = await post(body);
        expect(answer.status, `${body.id} attempt ${attempt}`).toBe(400);
        expect(answer.body.error).toEqual({ code: "invalid_request", message: `${field}: nested more than 64 levels deep` });
      }
      expect(await h.client.get(body.id)).toBeUndefined();
    }
    const batch = await call(http.url, "POST", "/v1/batches", {
      json: { id: "http-deep-batch", requests: [{ custom_id: "one", ...h.chatRequest("wcode", "hunyuan-lite") }], metadata: nested(2000) },
      token: API_TOKEN,
    });
    expect(batch.status).toBe(400);
    expect(batch.body.error.message).toBe("metadata: nested more than 64 levels deep");
    expect((await post({ ...h.request("hy-image-lite"), metadata: nested(64), id: "http-deep-64" })).status).toBe(201);
  });

  it("an id a raw producer used for a job nested too deep is a 409 for another request, not a 500", async () => {
    const raw = new Queue(generateQueueName("tokenhub"), { connection: { url: h.env.REDIS_URL }, prefix: h.prefix });
    try {
      await raw.add("generate", { ...h.request("hy-image-lite"), metadata: { deep: nested(2000) } }, { jobId: "http-raw-deep" });
    } finally {
      await raw.close();
    }
    const answer = await post({ ...h.request("hy-image-lite"), id: "http-raw-deep" });
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe("conflict");
  });

  it("refuses a request bigger than KILN_MAX_JOB_BYTES with 400 naming its largest field", async () => {
    const answer = await post({ ...h.request("hy-image-lite", { extra: "x".repeat(300 * 1024) }), id: "http-too-big" });
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(
      /^input: makes the job \d+ bytes of JSON, more than the limit of 262144 \(KILN_MAX_JOB_BYTES\)$/,
    );
    expect(await h.client.get("http-too-big")).toBeUndefined();
  });

  it("refuses a batch webhook that is not an http(s) URL, as it refuses a generation's", async () => {
    for (const url of ["file:///etc/passwd", "javascript:alert(1)", "gopher://example.com/x"]) {
      const batchId = `http-hook-${url.split(":")[0]}`;
      const batch = await call(http.url, "POST", "/v1/batches", {
        json: { id: batchId, requests: [{ custom_id: "one", ...h.chatRequest("wcode", "hunyuan-lite") }], webhook: { url } },
        token: API_TOKEN,
      });
      expect(batch.status, url).toBe(400);
      expect(batch.body.error.message, url).toMatch(/^webhook\.url: (must be|expected) an http:\/\/ or https:\/\/ URL/);
      expect(await h.client.getBatch(batchId)).toBeUndefined();
      const job = await post({ ...h.request("hy-image-lite"), webhook: { url } });
      expect(job.status, url).toBe(400);
      expect(job.body.error.message, url).toMatch(/^webhook\.url: (must be|expected) an http:\/\/ or https:\/\/ URL/);
    }
  });

  it("refuses the ids '.' and '..', which no URL can name; any other id's Location leads back to its job", async () => {
    for (const id of [".", ".."]) {
      const answer = await post({ ...h.request("hy-image-lite"), id });
      expect(answer.status, id).toBe(400);
      expect(answer.body.error.message).toMatch(/^id: /);
      expect(await h.client.get(id)).toBeUndefined();
    }
    for (const id of ["a/../b", "...", "q?x=1#frag", "100%", "spaced id", "ünï"]) {
      const created = await post({ ...h.request("hy-image-lite"), id });
      expect(created.status, id).toBe(201);
      // resolved as a URL client resolves it: the Location names this job and no other
      const followed = await get(new URL(created.headers.get("location")!, http.url).pathname);
      expect(followed.status, id).toBe(200);
      expect(followed.body.id).toBe(id);
    }
  });

  it("enqueues with 201 and a Location that GET follows to completion, with outputs", async () => {
    const created = await post({ ...h.request("HY-Image-V3.0"), id: "http-order-1" });
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe("/v1/generations/http-order-1");
    expect(created.body).toMatchObject({ id: "http-order-1", provider: "tokenhub", queue: "generate-tokenhub" });

    const done = await eventually(
      () => get(created.headers.get("location")!),
      (a) => a.body.state === "completed",
    );
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      id: "http-order-1",
      state: "completed",
      step: "done",
      progress: 100,
      result: { status: "completed", model: "hy-image-v3.0" },
    });
    expect(done.body.outputs).toHaveLength(1);
    expect(done.body.outputs[0]).toMatchObject({ index: 0, contentType: "image/png" });
    expect(done.body.error).toBeUndefined();
  });

  it("reports a failed job's error code and message", async () => {
    const created = await post({ ...h.request("hy-image-v3.0", { prompt: "[sim:fail] http" }), id: "http-fails-1" });
    expect(created.status).toBe(201);
    const failed = await eventually(
      () => get("/v1/generations/http-fails-1"),
      (a) => a.body.state === "failed",
    );
    expect(failed.body.error).toEqual({ code: "task_failed", message: expect.any(String) });
    expect(failed.body.outputs).toEqual([]);
  });

  it("answers 200 with the existing job for the same request under the same id, 409 for a different one", async () => {
    const request = { ...h.request("hy-image-lite"), id: "http-idem-1" };
    expect((await post(request)).status).toBe(201);
    const again = await post(request);
    expect(again.status).toBe(200);
    expect(again.headers.get("location")).toBe("/v1/generations/http-idem-1");
    expect(again.body.id).toBe("http-idem-1");

    const different = await post({ ...request, input: { prompt: "another picture" } });
    expect(different.status).toBe(409);
    expect(different.body.error.code).toBe("conflict");
    const otherProvider = await post({ ...h.chatRequest("wcode", "hunyuan-lite"), id: "http-idem-1" });
    expect(otherProvider.status).toBe(409);
    expect(otherProvider.body.error.message).toContain("generate-tokenhub");
  });

  it("reads need a token: none is 401, the read token or the API token reads, the read token cannot write", async () => {
    const created = await post({ ...h.request("hy-image-lite"), id: "http-read-auth-1" });
    expect(created.status).toBe(201);
    for (const path of ["/v1/generations/http-read-auth-1", "/v1/batches/any"]) {
      const anonymous = await call(http.url, "GET", path);
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.error.message).toContain("KILN_READ_TOKEN or KILN_API_TOKEN");
      expect((await get(path, `${READ_TOKEN}x`)).status).toBe(401);
    }
    expect((await get("/v1/generations/http-read-auth-1", READ_TOKEN)).body.id).toBe("http-read-auth-1");
    expect((await get("/v1/generations/http-read-auth-1", API_TOKEN)).body.id).toBe("http-read-auth-1");
    expect((await post({ ...h.request("hy-image-lite"), id: "http-read-auth-2" }, READ_TOKEN)).status).toBe(401);
  });

  it("GET of an unknown id is 404; ?provider= narrows the lookup; an unknown provider is 400", async () => {
    const unknown = await get("/v1/generations/no-such-job");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: { code: "not_found", message: "no generation no-such-job" } });

    expect((await post({ ...h.request("hy-image-lite"), id: "http-narrow-1" })).status).toBe(201);
    expect((await get("/v1/generations/http-narrow-1?provider=tokenhub")).status).toBe(200);
    expect((await get("/v1/generations/http-narrow-1?provider=gateway")).status).toBe(404);
    const bad = await get("/v1/generations/http-narrow-1?provider=nope");
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("provider");
  });

  it("an id BullMQ minted in two queues is a 409 until ?provider= names one", async () => {
    const t = await sameMintedIdInTwoQueues(h);
    const ambiguous = await get(`/v1/generations/${t}`);
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body.error.message).toMatch(/generate-tokenhub and generate-wcode/);
    const named = await get(`/v1/generations/${t}?provider=wcode`);
    expect(named.status).toBe(200);
    expect(named.body.queue).toBe("generate-wcode");
  });

  it("GET /v1/batches/{id} reports a batch's state and counts, 404 for an unknown one; unknown routes are JSON 404s", async () => {
    await h.client.enqueueBatch(
      [{ custom_id: "one", provider: "wcode", model: "hunyuan-lite", input: { messages: [{ role: "user", content: "batch over http" }] } }],
      { batchId: "http-batch" },
    );
    const done = await eventually(
      () => get("/v1/batches/http-batch"),
      (a) => a.body?.state === "completed",
    );
    expect(done.body).toMatchObject({
      id: "http-batch",
      sealed: true,
      total: 1,
      summary: { counts: { total: 1, completed: 1, failed: 0, invalid: 0 }, results: { key: "kiln/batches/http-batch/results.jsonl" } },
    });
    const batch = await get("/v1/batches/b-1");
    expect(batch.status).toBe(404);
    expect(batch.body.error.code).toBe("not_found");
    const route = await get("/v2/nothing");
    expect(route.status).toBe(404);
    expect(route.body.error.code).toBe("not_found");
  });

  it("POST /v1/generations/{id}/cancel needs the token, ends a running job as cancelled (202), and 409s a finished one", async () => {
    h.simulator.configure({ durationsMs: { image: 60_000, video: 60_000, "3d": 60_000 } });
    try {
      await post({ ...h.request("hy-image-v3.0"), id: "http-cancel-1" });
      expect((await call(http.url, "POST", "/v1/generations/http-cancel-1/cancel")).status).toBe(401);
      const cancelled = await call(http.url, "POST", "/v1/generations/http-cancel-1/cancel", { token: API_TOKEN });
      expect(cancelled.status).toBe(202);
      expect(cancelled.body).toMatchObject({ id: "http-cancel-1", cancelled: true });
      const failed = await eventually(
        () => get("/v1/generations/http-cancel-1"),
        (a) => a.body.state === "failed",
      );
      expect(failed.body.error).toMatchObject({ code: "cancelled" });
      const again = await call(http.url, "POST", "/v1/generations/http-cancel-1/cancel", { token: API_TOKEN });
      expect(again.status).toBe(409);
      expect((await call(http.url, "POST", "/v1/generations/no-such/cancel", { token: API_TOKEN })).status).toBe(404);
    } finally {
      h.simulator.configure({ durationsMs: { image: 300, video: 600, "3d": 600 } });
    }
  });

  it("POST /v1/generations/{id}/cancel takes {reason}: the cancelled job's error message; a reason that is not a string is a 400", async () => {
    h.simulator.configure({ durationsMs: { image: 60_000, video: 60_000, "3d": 60_000 } });
    try {
      await post({ ...h.request("hy-image-v3.0"), id: "http-cancel-2" });
      const wrong = await call(http.url, "POST", "/v1/generations/http-cancel-2/cancel", { token: API_TOKEN, json: { reason: 5 } });
      expect(wrong.status).toBe(400);
      expect(wrong.body.error).toMatchObject({ code: "invalid_request", message: expect.stringContaining("reason") });
      const cancelled = await call(http.url, "POST", "/v1/generations/http-cancel-2/cancel", {
        token: API_TOKEN,
        json: { reason: "the customer changed the prompt" },
      });
      expect(cancelled.status).toBe(202);
      const failed = await eventually(
        () => get("/v1/generations/http-cancel-2"),
        (a) => a.body.state === "failed",
      );
      expect(failed.body.error).toMatchObject({ code: "cancelled", message: "the customer changed the prompt" });
    } finally {
      h.simulator.configure({ durationsMs: { image: 300, video: 600, "3d": 600 } });
    }
  });

  it("/metrics counts a submit made again after a 5xx (the provider may have created the task) in kiln_submit_window_total", async () => {
    const before = sample((await get("/metrics")).text, "kiln_submit_window_total", { provider: "tokenhub" }) ?? 0;
    h.simulator.configure({ serverErrorRate: 1 });
    try {
      await post({ ...h.request("hy-image-lite"), id: "http-window-1" });
      await eventually(
        async () => h.simulator.stats().rejected,
        (rejected) => rejected > 0,
      );
    } finally {
      h.simulator.configure({ serverErrorRate: 0 });
    }
    await eventually(
      () => get("/v1/generations/http-window-1"),
      (a) => a.body.state === "completed",
    );
    expect(sample((await get("/metrics")).text, "kiln_submit_window_total", { provider: "tokenhub" })).toBeGreaterThan(before);
  });

  it("/metrics exposes the job, step, provider, poll, archive and webhook families after a job completes", async () => {
    const created = await post({ ...h.request("hy-image-v3.0"), id: "http-metrics-1" });
    const done = await eventually(
      () => get(created.headers.get("location")!),
      (a) => a.body.state === "completed",
    );
    const bytes = done.body.outputs[0].bytes as number;
    await h.receiver.waitFor(() => h.receiver.of("http-metrics-1").length === 1);

    const scrape = await eventually(
      () => get("/metrics"),
      (a) => (sample(a.text, "kiln_webhook_deliveries_total", { outcome: "delivered" }) ?? 0) >= 1,
    );
    expect(scrape.headers.get("content-type")).toContain("text/plain");
    const m = scrape.text;
    expect(sample(m, "kiln_jobs", { provider: "tokenhub", state: "completed" })).toBeGreaterThanOrEqual(1);
    expect(sample(m, "kiln_jobs", { provider: "gateway", state: "waiting" })).toBe(0);
    expect(sample(m, "kiln_webhook_jobs", { state: "completed" })).toBeGreaterThanOrEqual(1);
    for (const step of ["provider", "archive", "total"]) {
      expect(
        sample(m, "kiln_generation_step_seconds_count", { provider: "tokenhub", step, status: "completed" }),
        step,
      ).toBeGreaterThanOrEqual(1);
    }
    expect(
      sample(m, "kiln_generation_step_seconds_count", { provider: "tokenhub", step: "total", status: "failed" }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(m, "kiln_provider_responses_total", { provider: "tokenhub", status: "200" })).toBeGreaterThanOrEqual(2);
    expect(sample(m, "kiln_provider_response_seconds_count", { provider: "tokenhub" })).toBeGreaterThanOrEqual(2);
    expect(sample(m, "kiln_polls_total", { provider: "tokenhub" })).toBeGreaterThanOrEqual(1);
    expect(sample(m, "kiln_archived_bytes_total", { provider: "tokenhub" })).toBeGreaterThanOrEqual(bytes);
    expect(sample(m, "kiln_archived_outputs_total", { provider: "tokenhub" })).toBeGreaterThanOrEqual(1);
    expect(sample(m, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(m).toContain("# TYPE nodejs_eventloop_lag_seconds gauge");
  });
});
