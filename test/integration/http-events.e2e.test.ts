import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventSource, type EventSourceFetchInit } from "eventsource";
import { createLogger } from "../../src/logger.js";
import { KilnHttpServer, KilnMetrics, startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { connectRedis, redisTargetOf, waitReady } from "../../src/queue/redis.js";
import { startKilnWorkers } from "../../src/workers/kiln-workers.js";
import { API_TOKEN, call, untilRedisConnected } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";

const silent = createLogger({ level: "silent" });

/** One event as an `EventSource` delivered it. */
interface Received {
  type: string;
  id: string;
  data: any;
}

/** An `EventSource` on `path` that records its events until it closes for good (the server's 204 or an error status). */
function listen(base: string, path: string, options: { token?: string; lastEventId?: string } = {}) {
  const events: Received[] = [];
  const errors: Array<number | undefined> = [];
  const headers = (init: EventSourceFetchInit): Record<string, string> => ({
    ...init.headers,
    ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    // resuming another connection's stream: EventSource sends only the last id it got itself
    ...(options.lastEventId && !init.headers["Last-Event-ID"] ? { "Last-Event-ID": options.lastEventId } : {}),
  });
  const source = new EventSource(new URL(path, base), { fetch: (url, init) => fetch(url, { ...init, headers: headers(init) }) });
  for (const type of ["started", "progress", "completed", "failed"])
    source.addEventListener(type, (e) => events.push({ type, id: e.lastEventId, data: JSON.parse(e.data) }));
  const closed = new Promise<void>((resolve) => {
    source.addEventListener("error", (e) => {
      errors.push(e.code);
      if (source.readyState === source.CLOSED) resolve();
    });
  });
  return { source, events, errors, closed };
}

/** Resolves once `check` holds, polling every 50 ms (events arrive on their own). */
async function until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("waiting (Prefer: wait) and event streams over HTTP", () => {
  const h = new KilnHarness();
  let http: RunningHttpServer;
  const get = (path: string, headers: Record<string, string> = {}) => request("GET", path, undefined, headers);
  const post = (json: unknown, headers: Record<string, string> = {}) => request("POST", "/v1/generations", json, headers);

  async function request(method: string, path: string, json: unknown, headers: Record<string, string>) {
    const response = await fetch(new URL(path, http.url), {
      method,
      headers: { authorization: `Bearer ${API_TOKEN}`, ...(json === undefined ? {} : { "content-type": "application/json" }), ...headers },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    const text = await response.text();
    const isJson = response.headers.get("content-type")?.startsWith("application/json");
    return { status: response.status, headers: response.headers, text, body: isJson ? JSON.parse(text) : undefined };
  }

  beforeAll(async () => {
    await h.start({ workers: false, env: { KILN_API_TOKEN: API_TOKEN } });
    http = await startHttpServer(h.env, silent, { port: 0, host: "127.0.0.1" });
    h.workers = await startKilnWorkers(h.env, silent, { webhookSchedule: [100, 200, 400], rawEnv: h.rawEnv, metrics: http.metrics });
    await untilRedisConnected(http.url);
  });
  afterAll(async () => {
    await http?.close();
    await h.close();
  });

  it("GET with Prefer: wait answers once the job completed, with the completed view and Preference-Applied", async () => {
    expect((await post({ ...h.request("hy-image-v3.0", { prompt: "[sim:ms=1500] wait get" }), id: "wait-get-1" })).status).toBe(201);
    const answer = await get("/v1/generations/wait-get-1", { prefer: "wait=30" });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("preference-applied")).toBe("wait=30");
    expect(answer.body).toMatchObject({ id: "wait-get-1", state: "completed", step: "done", result: { status: "completed" } });
  });

  it("Prefer: wait=1 on a slow job answers the running job when the wait runs out", async () => {
    await post({ ...h.request("hy-image-v3.0", { prompt: "[sim:ms=60000] wait slow" }), id: "wait-slow-1" });
    const answer = await get("/v1/generations/wait-slow-1", { prefer: "wait=1" });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("preference-applied")).toBe("wait=1");
    expect(["waiting", "active", "delayed"]).toContain(answer.body.state);
    await call(http.url, "POST", "/v1/generations/wait-slow-1/cancel", { token: API_TOKEN });
  });

  it("POST with Prefer: wait answers 201 with the completed job", async () => {
    const answer = await post(
      { ...h.request("hy-image-v3.0", { prompt: "[sim:ms=1000] wait post" }), id: "wait-post-1" },
      { prefer: "wait=30" },
    );
    expect(answer.status).toBe(201);
    expect(answer.headers.get("location")).toBe("/v1/generations/wait-post-1");
    expect(answer.headers.get("preference-applied")).toBe("wait=30");
    expect(answer.body).toMatchObject({ id: "wait-post-1", state: "completed", outputs: [expect.objectContaining({ index: 0 })] });
  });

  it("a wait over 60 s is applied as wait=60; a malformed Prefer is ignored (no Preference-Applied)", async () => {
    await post({ ...h.request("hy-image-v3.0"), id: "wait-clamp-1" }, { prefer: "wait=20" });
    const clamped = await get("/v1/generations/wait-clamp-1", { prefer: "respond-async, WAIT=600" });
    expect(clamped.headers.get("preference-applied")).toBe("wait=60");
    expect(clamped.body.state).toBe("completed");
    for (const prefer of ["wait=soon", "wait=", "wait=0", "handling=lenient"]) {
      const ignored = await get("/v1/generations/wait-clamp-1", { prefer });
      expect(ignored.status, prefer).toBe(200);
      expect(ignored.headers.get("preference-applied"), prefer).toBeNull();
    }
  });

  it("GET /v1/batches/{id} with Prefer: wait answers once the batch completed", async () => {
    const requests = [1, 2].map((n) => ({
      ...h.request("hy-image-v3.0", { prompt: `[sim:ms=1000] batch wait ${n}` }),
      custom_id: `n${n}`,
    }));
    await h.client.enqueueBatch(requests, { batchId: "wait-batch" });
    const answer = await get("/v1/batches/wait-batch", { prefer: "wait=30" });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("preference-applied")).toBe("wait=30");
    expect(answer.body).toMatchObject({ id: "wait-batch", state: "completed", summary: { counts: { total: 2, completed: 2 } } });
  });

  it("a job's events: started, progress, completed in order, each with an id; after completed the stream ends for good", async () => {
    await post({ ...h.request("hy-image-v3.0", { prompt: "[sim:ms=4000] events" }), id: "events-1" });
    const stream = listen(http.url, "/v1/generations/events-1/events", { token: API_TOKEN });
    await stream.closed;
    const types = stream.events.map((e) => e.type);
    expect(types[0]).toBe("started");
    expect(types.filter((t) => t === "started")).toHaveLength(1);
    expect(types.filter((t) => t === "progress").length).toBeGreaterThanOrEqual(1);
    expect(types.at(-1)).toBe("completed");
    expect(types.filter((t) => t === "completed")).toHaveLength(1);
    expect(new Set(stream.events.map((e) => e.id)).size).toBe(stream.events.length);
    expect(stream.events[0]?.data).toMatchObject({ id: "events-1", provider: "tokenhub", step: expect.any(String) });
    expect(stream.events.at(-1)?.data).toMatchObject({ id: "events-1", state: "completed", result: { status: "completed" } });
    // the EventSource reconnected after the server closed the stream, and heard 204: nothing more
    expect(stream.errors.at(-1)).toBe(204);
  });

  it("a failed job's stream ends with failed {code, message}", async () => {
    await post({ ...h.request("hy-image-v3.0", { prompt: "[sim:fail] events" }), id: "events-fail-1" });
    const stream = listen(http.url, "/v1/generations/events-fail-1/events", { token: API_TOKEN });
    await stream.closed;
    expect(stream.events.at(-1)).toMatchObject({
      type: "failed",
      data: { id: "events-fail-1", code: "task_failed", message: expect.any(String) },
    });
    expect(stream.events.filter((e) => e.type === "failed")).toHaveLength(1);
  });

  it("a stream resumed with Last-Event-ID sends no event twice", async () => {
    await post({ ...h.request("hy-image-v3.0", { prompt: "[sim:ms=4000] resume" }), id: "events-resume-1" });
    const first = listen(http.url, "/v1/generations/events-resume-1/events", { token: API_TOKEN });
    await until(() => first.events.length > 0);
    first.source.close();
    const seen = first.events.at(-1)!;
    expect(seen.type).toBe("started");
    const second = listen(http.url, "/v1/generations/events-resume-1/events", { token: API_TOKEN, lastEventId: seen.id });
    await second.closed;
    expect(second.events.map((e) => e.type)).not.toContain("started");
    expect(second.events.map((e) => e.id)).not.toContain(seen.id);
    expect(second.events.at(-1)?.type).toBe("completed");
  });

  it("a job that already ended: its final event at once, then the stream closes; resuming after it is a 204", async () => {
    await post({ ...h.request("hy-image-v3.0"), id: "events-done-1" }, { prefer: "wait=30" });
    const answer = await get("/v1/generations/events-done-1/events");
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const frames = answer.text.split("\n\n").filter((f) => f.startsWith("id:"));
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatch(/^id: completed\nevent: completed\ndata: \{.*"state":"completed"/);
    expect((await get("/v1/generations/events-done-1/events", { "last-event-id": "completed" })).status).toBe(204);
  });

  it("a batch's events: progress with its counts, then completed with the summary", async () => {
    const requests = [1, 2, 3].map((n) => ({
      ...h.request("hy-image-v3.0", { prompt: `[sim:ms=2000] batch events ${n}` }),
      custom_id: `n${n}`,
    }));
    await h.client.enqueueBatch(requests, { batchId: "events-batch" });
    const stream = listen(http.url, "/v1/batches/events-batch/events", { token: API_TOKEN });
    await stream.closed;
    const progress = stream.events.filter((e) => e.type === "progress");
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.at(-1)?.data).toEqual({ total: 3, completed: 3, failed: 0, pending: 0 });
    expect(stream.events.at(-1)).toMatchObject({
      type: "completed",
      data: { total: 3, completed: 3, failed: 0, pending: 0, summary: { id: "events-batch", counts: { total: 3, completed: 3 } } },
    });
    expect(new Set(stream.events.map((e) => e.id)).size).toBe(stream.events.length);
  });

  it("event streams: 404 for an unknown job or batch, 401 without a token", async () => {
    await post({ ...h.request("hy-image-v3.0"), id: "events-auth-1" });
    const unknownJob = await get("/v1/generations/no-such-job/events");
    expect(unknownJob.status).toBe(404);
    expect(unknownJob.body.error.code).toBe("not_found");
    expect((await get("/v1/batches/no-such-batch/events")).status).toBe(404);
    for (const path of ["/v1/generations/events-auth-1/events", "/v1/batches/wait-batch/events"]) {
      const stream = listen(http.url, path);
      await stream.closed;
      expect(stream.errors, path).toEqual([401]);
      expect(stream.events, path).toEqual([]);
    }
  });

  describe("a server with a 1 s request timeout and a 200 ms heartbeat", () => {
    const redis = () => connectRedis(redisTargetOf(h.env), "producer");
    let connection: ReturnType<typeof redis>;
    let server: KilnHttpServer;
    let url: string;

    beforeAll(async () => {
      connection = redis();
      await waitReady(connection);
      server = new KilnHttpServer({
        client: h.client,
        redis: connection,
        metrics: new KilnMetrics({ log: silent, processMetrics: false }),
        log: silent,
        apiToken: API_TOKEN,
        requestTimeoutMs: 1000,
        eventHeartbeatMs: 200,
      });
      url = await server.listen(0, "127.0.0.1");
    });
    afterAll(async () => {
      await server.close();
      await connection.quit();
    });

    it("a wait longer than the request timeout is not cut by its 503", async () => {
      await post({ ...h.request("hy-image-v3.0", { prompt: "[sim:ms=60000] long wait" }), id: "wait-long-1" });
      const answer = await fetch(new URL("/v1/generations/wait-long-1", url), {
        headers: { authorization: `Bearer ${API_TOKEN}`, prefer: "wait=2" },
      });
      expect(answer.status).toBe(200);
      expect(answer.headers.get("preference-applied")).toBe("wait=2");
      expect(((await answer.json()) as { state: string }).state).not.toBe("completed");
    });

    it("a stream sends : ping while nothing happens, and closing the server ends open streams and waits", async () => {
      await post({ ...h.request("hy-image-v3.0", { prompt: "[sim:ms=60000] held open" }), id: "events-held-1" });
      const headers = { authorization: `Bearer ${API_TOKEN}` };
      const stream = await fetch(new URL("/v1/generations/events-held-1/events", url), { headers });
      const waiting = fetch(new URL("/v1/generations/events-held-1", url), { headers: { ...headers, prefer: "wait=60" } });
      const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes(": ping\n\n")) text += (await reader.read()).value ?? "";
      // without ending them, close would wait for the stream (forever) and the wait (60 s)
      await server.close();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += chunk.value;
      const waited = await waiting;
      expect(waited.status).toBe(200);
      expect(waited.headers.get("preference-applied")).toBe("wait=60");
      expect(text).toContain("event: started");
    });
  });
});
