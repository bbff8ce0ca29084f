import { generateKeyPairSync, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ajv2020 } from "ajv/dist/2020.js";
import { Queue } from "bullmq";
import { DIRECTIVES, getFreePort } from "@kiln/dev-tools";
import { loadEnvironment } from "../../src/config/index.js";
import { createLogger } from "../../src/logger.js";
import { startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { API_TOKEN, untilRedisConnected } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { sameMintedIdInTwoQueues } from "../support/same-minted-id.js";

// Every (operation, status) the OpenAPI document lists is driven here against real servers,
// and each answer's body validates against the schema documented for that status. A route
// added to the document without cases fails the last test: add its cases to CASES.

const silent = createLogger({ level: "silent" });
const READ_TOKEN = "test-read-token-0123456789abcdef";

/** A token bound to the tenant `studio` (KILN_API_TOKENS). */
const STUDIO_TOKEN = "studio-token-0123456789abcdef";

/** The servers the cases call: one per configuration a status needs. */
interface Servers {
  /** Tokens set, local archive, workers running. */
  main: string;
  /** The same jobs, served with the S3 archive (outputs are redirects). */
  s3: string;
  /** No token configured: reads and writes answer 503 auth_not_configured. */
  noTokens: string;
  /** Redis unreachable: /v1/ answers 503 unavailable, /readyz 503 not_ready. */
  redisDown: string;
}

/** Jobs and batches the cases read. */
interface Fixtures {
  /** A completed image generation with one archived output. */
  completed: string;
  /** An id BullMQ minted in two provider queues. */
  twoQueues: string;
  /** An existing batch. */
  batch: string;
  h: KilnHarness;
}

interface Call {
  token?: string;
  json?: unknown;
  /** Sent as it is, with `contentType`. */
  raw?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

interface StatusCase {
  /** `METHOD /path/{param}` as the document names it. */
  operation: string;
  status: number;
  how: string;
  send: (s: Servers, f: Fixtures) => Promise<Response>;
}

function request(base: string, method: string, path: string, c: Call = {}): Promise<Response> {
  const headers: Record<string, string> = { ...c.headers };
  if (c.token) headers.authorization = `Bearer ${c.token}`;
  const body = c.raw ?? (c.json === undefined ? undefined : JSON.stringify(c.json));
  if (body !== undefined) headers["content-type"] = c.contentType ?? "application/json";
  return fetch(new URL(path, base), { method, headers, body, redirect: "manual" });
}

const read =
  (path: string, c: Call = {}) =>
  (s: Servers) =>
    request(s.main, "GET", path, { token: READ_TOKEN, ...c });
const write =
  (path: string, c: Call = {}) =>
  (s: Servers) =>
    request(s.main, "POST", path, { token: API_TOKEN, ...c });
const big = (): string => JSON.stringify({ padding: "x".repeat(1024 * 1024 + 16) });
const output = (f: Fixtures, index: number | string = 0) => `/v1/generations/${encodeURIComponent(f.completed)}/outputs/${index}`;
const chatRequest = (f: Fixtures) => ({
  provider: "wcode",
  model: "hunyuan-lite",
  input: { messages: [{ role: "user", content: `hi ${f.h.prefix}` }] },
});
const batchBody = (f: Fixtures, id: string) => ({ id, requests: [{ custom_id: "one", ...chatRequest(f) }] });

/** A job that stays delayed (so not ended) while the case runs: a cancel finds it open. */
async function delayedJob(f: Fixtures): Promise<string> {
  const queue = new Queue("generate-tokenhub", { connection: { url: f.h.env.REDIS_URL }, prefix: f.h.prefix });
  try {
    const id = `delayed-${randomUUID()}`;
    await queue.add("generate", f.h.request("hy-image-v3.0"), { jobId: id, delay: 3_600_000 });
    return id;
  } finally {
    await queue.close();
  }
}

/** A failed job (the simulator refuses its prompt): a retry finds it. */
async function failedJob(f: Fixtures): Promise<string> {
  const id = await f.h.client.enqueue(f.h.request("hy-image-v3.0", { prompt: `refused ${DIRECTIVES.fail} ${randomUUID()}` }));
  expect((await f.h.client.waitFor(id, { timeoutMs: 20_000 })).state).toBe("failed");
  return id;
}

/**
 * An event stream's answer cut after its first event: a stream stays open while its batch runs.
 * Any other answer as it is.
 */
async function firstEvent(answer: Response): Promise<Response> {
  if (answer.status !== 200 || !answer.body) return answer;
  const reader = answer.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("\n\n")) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return new Response(text, { status: answer.status, headers: answer.headers });
}

/** Auth and availability answers every read route gives: 401, and 503 with no token or no Redis. */
function readGuards(operation: string, path: (f: Fixtures) => string): StatusCase[] {
  return [
    { operation, status: 401, how: "no token", send: (s, f) => request(s.main, "GET", path(f)) },
    { operation, status: 503, how: "no token configured", send: (s, f) => request(s.noTokens, "GET", path(f)) },
    { operation, status: 503, how: "Redis unreachable", send: (s, f) => request(s.redisDown, "GET", path(f), { token: READ_TOKEN }) },
  ];
}

/** The same for write routes, plus the body's 413 and 415. */
function writeGuards(operation: string, path: (f: Fixtures) => string, json: (f: Fixtures) => unknown): StatusCase[] {
  return [
    { operation, status: 401, how: "no token", send: (s, f) => request(s.main, "POST", path(f), { json: json(f) }) },
    {
      operation,
      status: 503,
      how: "no token configured",
      send: (s, f) => request(s.noTokens, "POST", path(f), { json: json(f), token: API_TOKEN }),
    },
    {
      operation,
      status: 503,
      how: "Redis unreachable",
      send: (s, f) => request(s.redisDown, "POST", path(f), { json: json(f), token: API_TOKEN }),
    },
    { operation, status: 413, how: "a body over 1 MiB", send: (s, f) => write(path(f), { raw: big() })(s) },
    {
      operation,
      status: 415,
      how: "a text/plain body",
      send: (s, f) => write(path(f), { raw: "a picture", contentType: "text/plain" })(s),
    },
  ];
}

const GET_GENERATION = "GET /v1/generations/{id}";
const CREATE_GENERATION = "POST /v1/generations";
const CANCEL = "POST /v1/generations/{id}/cancel";
const OUTPUT = "GET /v1/generations/{id}/outputs/{index}";
const CREATE_BATCH = "POST /v1/batches";
const GET_BATCH = "GET /v1/batches/{id}";
const LIST_GENERATIONS = "GET /v1/generations";
const LIST_BATCHES = "GET /v1/batches";
const GENERATION_EVENTS = "GET /v1/generations/{id}/events";
const BATCH_EVENTS = "GET /v1/batches/{id}/events";
const RETRY = "POST /v1/generations/{id}/retry";
const TENANT_USAGE = "GET /v1/tenants/{id}/usage";
const WEBHOOK_PUBLIC_KEYS = "GET /v1/webhooks/public-keys";

/** A `whsk_` key (KILN_WEBHOOK_SIGNING_KEYS): Ed25519's 32-byte seed, then its 32-byte public key. */
const SIGNING_KEY = (() => {
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  return `whsk_${Buffer.concat([Buffer.from(jwk.d!, "base64url"), Buffer.from(jwk.x!, "base64url")]).toString("base64")}`;
})();

/** One entry per (operation, status, way to get it); a new route adds its entries here. */
const CASES: StatusCase[] = [
  { operation: TENANT_USAGE, status: 200, how: "a tenant (with or without a budget)", send: read("/v1/tenants/studio/usage") },
  {
    operation: TENANT_USAGE,
    status: 404,
    how: "another tenant, for a bound token",
    send: read("/v1/tenants/nightly/usage", { token: STUDIO_TOKEN }),
  },
  { operation: TENANT_USAGE, status: 400, how: "an id that is no tenant", send: read("/v1/tenants/Not%20One/usage") },
  ...readGuards(TENANT_USAGE, () => "/v1/tenants/studio/usage"),
  {
    operation: WEBHOOK_PUBLIC_KEYS,
    status: 200,
    how: "the signing key's public key, without a token",
    send: async (s) => {
      const answer = await request(s.main, "GET", "/v1/webhooks/public-keys");
      expect(((await answer.clone().json()) as { keys: unknown[] }).keys).toHaveLength(1);
      return answer;
    },
  },
  {
    operation: WEBHOOK_PUBLIC_KEYS,
    status: 200,
    how: "Redis unreachable: the keys need none",
    send: (s) => request(s.redisDown, "GET", "/v1/webhooks/public-keys"),
  },
  { operation: "GET /healthz", status: 200, how: "the process is up", send: read("/healthz") },
  { operation: "GET /readyz", status: 200, how: "Redis answers", send: read("/readyz") },
  { operation: "GET /readyz", status: 503, how: "Redis unreachable", send: (s) => request(s.redisDown, "GET", "/readyz") },
  { operation: "GET /metrics", status: 200, how: "a scrape", send: read("/metrics") },
  { operation: "GET /openapi.json", status: 200, how: "the document", send: read("/openapi.json") },

  { operation: GET_GENERATION, status: 200, how: "a completed job", send: (s, f) => read(`/v1/generations/${f.completed}`)(s) },
  { operation: GET_GENERATION, status: 404, how: "an unknown id", send: read("/v1/generations/no-such-job") },
  { operation: GET_GENERATION, status: 409, how: "an id in two queues", send: (s, f) => read(`/v1/generations/${f.twoQueues}`)(s) },
  { operation: GET_GENERATION, status: 400, how: "an unknown ?provider=", send: read("/v1/generations/x?provider=nope") },
  ...readGuards(GET_GENERATION, (f) => `/v1/generations/${f.completed}`),

  {
    operation: CREATE_GENERATION,
    status: 201,
    how: "a new request",
    send: (s, f) => write("/v1/generations", { json: { ...chatRequest(f), id: `new-${randomUUID()}` } })(s),
  },
  {
    operation: CREATE_GENERATION,
    status: 200,
    how: "the same request again under its id",
    send: async (s, f) => {
      const json = { ...chatRequest(f), id: `again-${randomUUID()}` };
      expect((await write("/v1/generations", { json })(s)).status).toBe(201);
      return write("/v1/generations", { json })(s);
    },
  },
  {
    operation: CREATE_GENERATION,
    status: 409,
    how: "another request under a used id",
    send: async (s, f) => {
      const id = `used-${randomUUID()}`;
      expect((await write("/v1/generations", { json: { ...chatRequest(f), id } })(s)).status).toBe(201);
      return write("/v1/generations", { json: { ...chatRequest(f), id, metadata: { other: true } } })(s);
    },
  },
  {
    operation: CREATE_GENERATION,
    status: 400,
    how: "no input",
    send: write("/v1/generations", { json: { provider: "wcode", model: "hunyuan-lite" } }),
  },
  {
    operation: CREATE_GENERATION,
    status: 403,
    how: "a tenant-bound token naming another tenant",
    send: (s, f) => write("/v1/generations", { json: { ...chatRequest(f), tenant: "nightly" }, token: STUDIO_TOKEN })(s),
  },
  ...writeGuards(CREATE_GENERATION, () => "/v1/generations", chatRequest),

  {
    operation: CANCEL,
    status: 202,
    how: "a delayed job",
    send: async (s, f) => write(`/v1/generations/${await delayedJob(f)}/cancel`, { json: { reason: "withdrawn" } })(s),
  },
  { operation: CANCEL, status: 404, how: "an unknown id", send: write("/v1/generations/no-such-job/cancel") },
  { operation: CANCEL, status: 409, how: "an id in two queues", send: (s, f) => write(`/v1/generations/${f.twoQueues}/cancel`)(s) },
  { operation: CANCEL, status: 400, how: "an empty reason", send: write("/v1/generations/x/cancel", { json: { reason: "" } }) },
  ...writeGuards(
    CANCEL,
    () => "/v1/generations/no-such-job/cancel",
    () => ({ reason: "withdrawn" }),
  ),

  { operation: OUTPUT, status: 200, how: "the whole output (local archive)", send: (s, f) => read(output(f))(s) },
  {
    operation: OUTPUT,
    status: 206,
    how: "a range (local archive)",
    send: (s, f) => read(output(f), { headers: { range: "bytes=0-9" } })(s),
  },
  {
    operation: OUTPUT,
    status: 302,
    how: "S3 archive: a presigned URL",
    send: (s, f) => request(s.s3, "GET", output(f), { token: READ_TOKEN }),
  },
  {
    operation: OUTPUT,
    status: 304,
    how: "If-None-Match: the output's ETag",
    send: async (s, f) => {
      const etag = (await read(output(f))(s)).headers.get("etag") ?? "";
      return read(output(f), { headers: { "if-none-match": etag } })(s);
    },
  },
  { operation: OUTPUT, status: 404, how: "an index the result lacks", send: (s, f) => read(output(f, 5))(s) },
  { operation: OUTPUT, status: 409, how: "an id in two queues", send: (s, f) => read(`/v1/generations/${f.twoQueues}/outputs/0`)(s) },
  {
    operation: OUTPUT,
    status: 416,
    how: "a range past the end",
    send: (s, f) => read(output(f), { headers: { range: "bytes=99999999-" } })(s),
  },
  { operation: OUTPUT, status: 400, how: "an index that is no number", send: (s, f) => read(output(f, "first"))(s) },
  ...readGuards(OUTPUT, (f) => output(f)),

  {
    operation: CREATE_BATCH,
    status: 201,
    how: "a new batch",
    send: (s, f) => write("/v1/batches", { json: batchBody(f, `b-${randomUUID()}`) })(s),
  },
  {
    operation: CREATE_BATCH,
    status: 200,
    how: "the same batch again: nothing added",
    send: async (s, f) => {
      const json = batchBody(f, `b-${randomUUID()}`);
      expect((await write("/v1/batches", { json })(s)).status).toBe(201);
      return write("/v1/batches", { json })(s);
    },
  },
  {
    operation: CREATE_BATCH,
    status: 400,
    how: "a bad batch id",
    send: (s, f) => write("/v1/batches", { json: batchBody(f, "1-starts-with-a-digit") })(s),
  },
  {
    operation: CREATE_BATCH,
    status: 403,
    how: "a tenant-bound token naming another tenant",
    send: (s, f) => write("/v1/batches", { json: { ...batchBody(f, `b-${randomUUID()}`), tenant: "nightly" }, token: STUDIO_TOKEN })(s),
  },
  {
    operation: CREATE_BATCH,
    status: 409,
    how: "a batch id another tenant's batch holds",
    send: (s, f) => write("/v1/batches", { json: batchBody(f, f.batch), token: STUDIO_TOKEN })(s),
  },
  ...writeGuards(
    CREATE_BATCH,
    () => "/v1/batches",
    (f) => batchBody(f, `b-${randomUUID()}`),
  ),

  { operation: GET_BATCH, status: 200, how: "an existing batch", send: (s, f) => read(`/v1/batches/${f.batch}`)(s) },
  { operation: GET_BATCH, status: 404, how: "an unknown batch", send: read("/v1/batches/no-such-batch") },
  { operation: GET_BATCH, status: 400, how: "an empty id", send: read("/v1/batches/") },
  ...readGuards(GET_BATCH, (f) => `/v1/batches/${f.batch}`),

  { operation: LIST_GENERATIONS, status: 200, how: "the first page", send: read("/v1/generations?limit=2") },
  { operation: LIST_GENERATIONS, status: 400, how: "an unknown state", send: read("/v1/generations?state=finished") },
  ...readGuards(LIST_GENERATIONS, () => "/v1/generations"),

  { operation: LIST_BATCHES, status: 200, how: "the first page", send: read("/v1/batches?limit=2") },
  { operation: LIST_BATCHES, status: 400, how: "a limit out of range", send: read("/v1/batches?limit=0") },
  ...readGuards(LIST_BATCHES, () => "/v1/batches"),

  {
    operation: GENERATION_EVENTS,
    status: 200,
    how: "a completed job: its final event, then the stream ends",
    send: (s, f) => read(`/v1/generations/${f.completed}/events`)(s),
  },
  {
    operation: GENERATION_EVENTS,
    status: 204,
    how: "Last-Event-ID: completed",
    send: (s, f) => read(`/v1/generations/${f.completed}/events`, { headers: { "last-event-id": "completed" } })(s),
  },
  { operation: GENERATION_EVENTS, status: 404, how: "an unknown id", send: read("/v1/generations/no-such-job/events") },
  {
    operation: GENERATION_EVENTS,
    status: 409,
    how: "an id in two queues",
    send: (s, f) => read(`/v1/generations/${f.twoQueues}/events`)(s),
  },
  { operation: GENERATION_EVENTS, status: 400, how: "an unknown ?provider=", send: read("/v1/generations/x/events?provider=nope") },
  ...readGuards(GENERATION_EVENTS, (f) => `/v1/generations/${f.completed}/events`),

  {
    operation: BATCH_EVENTS,
    status: 200,
    how: "an existing batch: its first event",
    send: async (s, f) => firstEvent(await read(`/v1/batches/${f.batch}/events`)(s)),
  },
  {
    operation: BATCH_EVENTS,
    status: 204,
    how: "Last-Event-ID: completed",
    send: (s, f) => read(`/v1/batches/${f.batch}/events`, { headers: { "last-event-id": "completed" } })(s),
  },
  { operation: BATCH_EVENTS, status: 404, how: "an unknown batch", send: read("/v1/batches/no-such-batch/events") },
  { operation: BATCH_EVENTS, status: 400, how: "an empty id", send: read("/v1/batches//events") },
  ...readGuards(BATCH_EVENTS, (f) => `/v1/batches/${f.batch}/events`),

  {
    operation: RETRY,
    status: 202,
    how: "a failed job",
    send: async (s, f) => write(`/v1/generations/${await failedJob(f)}/retry`)(s),
  },
  { operation: RETRY, status: 404, how: "an unknown id", send: write("/v1/generations/no-such-job/retry") },
  { operation: RETRY, status: 409, how: "a completed job", send: (s, f) => write(`/v1/generations/${f.completed}/retry`)(s) },
  { operation: RETRY, status: 400, how: "an unknown ?provider=", send: write("/v1/generations/x/retry?provider=nope") },
  // no body: the body guards (413, 415) do not apply
  ...writeGuards(
    RETRY,
    () => "/v1/generations/no-such-job/retry",
    () => undefined,
  ).filter((c) => c.status !== 413 && c.status !== 415),
];

type Document = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, Media> }> }>> };
type Media = { examples?: Record<string, { value: unknown }> };

describe("every status the OpenAPI document lists, driven against real servers", () => {
  const h = new KilnHarness();
  const hS3 = new KilnHarness();
  const running: RunningHttpServer[] = [];
  const servers = {} as Servers;
  const fixtures = {} as Fixtures;
  let doc: Document;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const start = async (env: Record<string, string | undefined>) => {
    const http = await startHttpServer(loadEnvironment(env), silent, { port: 0, host: "127.0.0.1" });
    running.push(http);
    return http.url;
  };

  beforeAll(async () => {
    const tokens = {
      KILN_API_TOKEN: API_TOKEN,
      KILN_READ_TOKEN: READ_TOKEN,
      KILN_API_TOKENS: `studio:${STUDIO_TOKEN}`,
      KILN_WEBHOOK_SIGNING_KEYS: SIGNING_KEY,
    };
    await h.start({ archive: "local", env: tokens });
    servers.main = await start(h.rawEnv);
    await hS3.start({ archive: "s3", workers: false, prefix: h.prefix, env: tokens });
    servers.s3 = await start(hS3.rawEnv);
    const { KILN_API_TOKEN: _api, KILN_READ_TOKEN: _read, KILN_API_TOKENS: _tenants, ...noTokens } = h.rawEnv;
    servers.noTokens = await start(noTokens);
    servers.redisDown = await start({ ...h.rawEnv, REDIS_URL: `redis://127.0.0.1:${await getFreePort()}` });
    await Promise.all([servers.main, servers.s3, servers.noTokens].map(untilRedisConnected));

    fixtures.h = h;
    fixtures.completed = await h.client.enqueue(h.request("hy-image-v3.0"));
    expect((await h.client.waitFor(fixtures.completed, { timeoutMs: 20_000 })).state).toBe("completed");
    fixtures.twoQueues = await sameMintedIdInTwoQueues(h);
    fixtures.batch = `fixture-${randomUUID()}`;
    expect((await write("/v1/batches", { json: batchBody(fixtures, fixtures.batch) })(servers)).status).toBe(201);
    doc = (await (await request(servers.main, "GET", "/openapi.json")).json()) as Document;
    ajv.addSchema(doc, "kiln-openapi.json");
  }, 60_000);
  afterAll(async () => {
    for (const http of running) await http.close();
    await hS3.close();
    await h.close();
  });

  it.each(CASES)("$operation answers $status: $how, with the body documented for it", async (c) => {
    const [method = "", path = ""] = c.operation.split(" ");
    const documented = doc.paths[path]?.[method.toLowerCase()]?.responses[String(c.status)];
    expect(documented, `${c.operation} does not document ${c.status}`).toBeDefined();
    const answer = await c.send(servers, fixtures);
    const text = await answer.text();
    expect(answer.status, text.slice(0, 500)).toBe(c.status);
    const [type, media] = Object.entries(documented?.content ?? {})[0] ?? [];
    if (type === undefined) return expect(text).toBe("");
    if (type === "text/event-stream") {
      expect(answer.headers.get("content-type")).toMatch(/^text\/event-stream/);
      return expect(text).toMatch(/^id: \S+\nevent: \w+\ndata: \{/);
    }
    if (type !== "application/json") return expect(text.length).toBeGreaterThan(0);
    expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
    const pointer = `/paths/${path.replace(/\//g, "~1")}/${method.toLowerCase()}/responses/${c.status}/content/application~1json/schema`;
    const check = ajv.getSchema(`kiln-openapi.json#${pointer}`) ?? ajv.compile({ $ref: `kiln-openapi.json#${pointer}` });
    const body: unknown = JSON.parse(text);
    expect(check(body) ? [] : check.errors, text.slice(0, 500)).toEqual([]);
    // an error answer carries one of the codes the document gives an example of for this status
    const code = (body as { error?: { code?: string } }).error?.code;
    const codes = Object.values(media?.examples ?? {}).map((e) => (e.value as { error?: { code?: string } }).error?.code);
    if (code !== undefined) expect(codes).toContain(code);
  });

  it("drives every (operation, status) the document lists, and no other", () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).flatMap(([method, op]) =>
        Object.keys(op.responses)
          .filter((status) => /^\d{3}$/.test(status))
          .map((status) => `${method.toUpperCase()} ${path} ${status}`),
      ),
    );
    const driven = new Set(CASES.map((c) => `${c.operation} ${c.status}`));
    expect([...driven].sort()).toEqual([...new Set(documented)].sort());
  });
});
