import type { ApiErrorCode } from "./api-error.js";
import { positionOf } from "./generation-events.js";

// Example bodies of the OpenAPI document, realistic and valid against their schemas (a unit
// test validates each). A component's examples show wherever a route's body is that component.

const SHA = "9f2c1a7e5b3d8c6f0a4e2b1d7c9f3a5e8b6d0c2f4a1e3b5d7c9f1a3e5b7d9c0f";
const ENQUEUED_AT = "2026-03-02T10:15:00.000Z";

/** A TokenHub image request, as most callers send one. */
const tokenhubImage = {
  id: "poster-2026-03-02-001",
  provider: "tokenhub",
  model: "hy-image-v3.0",
  input: { prompt: "a lighthouse at dawn, watercolour", size: "1024x1024" },
  webhook: { url: "https://hooks.example.com/kiln", events: ["generation.completed", "generation.failed"] },
  archive: { prefix: "posters/2026-03" },
  metadata: { campaign: "spring" },
};

const output = {
  index: 0,
  key: "posters/2026-03/poster-2026-03-02-001/0.png",
  url: "s3://kiln-archive/posters/2026-03/poster-2026-03-02-001/0.png",
  contentType: "image/png",
  bytes: 1482113,
  sha256: SHA,
  sourceUrl: "https://tokenhub.example.com/files/7c1e.png",
};

const view = { id: "poster-2026-03-02-001", provider: "tokenhub", queue: "generate-tokenhub", tenant: "studio-app" };

/** A generation in each state it can be read in. */
const GENERATION_EXAMPLES = {
  waiting: { ...view, state: "waiting", outputs: [] },
  active: { ...view, state: "active", step: "poll", providerStatus: "running", progress: 40, outputs: [] },
  delayed: { ...view, state: "delayed", step: "poll", providerStatus: "queued", outputs: [] },
  completed: {
    ...view,
    state: "completed",
    step: "done",
    providerStatus: "succeeded",
    progress: 100,
    outputs: [output],
    result: {
      id: view.id,
      status: "completed",
      provider: "tokenhub",
      model: "hy-image-v3.0",
      providerTaskId: "task-7c1e",
      outputs: [output],
      usage: { source: "outputs", images: 1 },
      cost: { amount: "0.20", currency: "CNY" },
      metadata: { campaign: "spring" },
      tenant: "studio-app",
      timings: {
        enqueuedAt: ENQUEUED_AT,
        startedAt: "2026-03-02T10:15:00.120Z",
        submittedAt: "2026-03-02T10:15:00.480Z",
        providerCompletedAt: "2026-03-02T10:15:21.000Z",
        archivedAt: "2026-03-02T10:15:21.900Z",
        finishedAt: "2026-03-02T10:15:22.000Z",
      },
    },
  },
  failed: {
    ...view,
    state: "failed",
    step: "done",
    outputs: [],
    error: { code: "task_failed", message: "the provider refused the prompt: content policy" },
    result: {
      id: view.id,
      status: "failed",
      provider: "tokenhub",
      model: "hy-image-v3.0",
      providerTaskId: "task-7c1e",
      outputs: [],
      error: {
        code: "task_failed",
        message: "the provider refused the prompt: content policy",
        retryable: false,
        providerCode: "ContentRisk",
      },
      timings: { enqueuedAt: ENQUEUED_AT, finishedAt: "2026-03-02T10:15:04.000Z" },
    },
  },
};

const batchCounts = { total: 2, invalid: 0 };

/** Examples by component name (api-components.ts). */
export const COMPONENT_EXAMPLES: Record<string, Record<string, unknown>> = {
  GenerationRequest: {
    tokenhubImage,
    chat: { provider: "wcode", model: "hunyuan-lite", input: { messages: [{ role: "user", content: "Summarise: ..." }] } },
  },
  Generation: GENERATION_EXAMPLES,
  CreateBatchRequest: {
    twoPosters: {
      id: "posters-2026-03",
      requests: [
        { custom_id: "poster-1", provider: "tokenhub", model: "hy-image-v3.0", input: { prompt: "a lighthouse at dawn" } },
        { custom_id: "poster-2", provider: "tokenhub", model: "hy-image-v3.0", input: { prompt: "a harbour at dusk" } },
      ],
      webhook: { url: "https://hooks.example.com/kiln-batches" },
      budget: "25.00",
      archive_prefix: "posters",
      metadata: { campaign: "spring" },
    },
  },
  BatchCreated: {
    created: { batchId: "posters-2026-03", ...batchCounts, added: 2, alreadyCompleted: false, alreadySealed: false, invalidRequests: [] },
    oneInvalid: {
      batchId: "posters-2026-04",
      total: 1,
      invalid: 1,
      added: 1,
      alreadyCompleted: false,
      alreadySealed: false,
      invalidRequests: [{ index: 1, message: 'model: unknown tokenhub model "hy-image-9000"' }],
    },
  },
  Batch: {
    running: {
      id: "posters-2026-03",
      state: "waiting-children",
      sealed: true,
      tenant: "studio-app",
      ...batchCounts,
      counts: { completed: 1, failed: 0, pending: 1 },
      budget: { limit: "25", currency: "CNY", spent: "0.2", reserved: "0.2", exhausted: false },
    },
    completed: {
      id: "posters-2026-03",
      state: "completed",
      sealed: true,
      tenant: "studio-app",
      ...batchCounts,
      counts: { completed: 2, failed: 0, pending: 0 },
      summary: {
        id: "posters-2026-03",
        status: "completed",
        counts: { total: 2, completed: 2, failed: 0, invalid: 0 },
        results: {
          key: "posters/batches/posters-2026-03/results.jsonl",
          url: "s3://kiln-archive/posters/batches/posters-2026-03/results.jsonl",
        },
        totals: { usage: { images: 2 }, cost: { amount: "0.40", currency: "CNY" }, uncosted: 0 },
        finishedAt: "2026-03-02T10:16:02.000Z",
      },
    },
  },
  CancelRequest: { withReason: { reason: "the campaign was withdrawn" } },
  CancelRecorded: { recorded: { id: "poster-2026-03-02-001", state: "active", cancelled: true } },
  Readiness: { ready: { status: "ready", checks: { redis: { ok: true }, workers: { ok: true } } } },
  NotReady: {
    redisDown: {
      error: { code: "not_ready", message: "redis: PING timed out after 2000 ms (connection reconnecting)" },
      checks: { redis: { ok: false, error: "PING timed out after 2000 ms (connection reconnecting)" }, workers: { ok: true } },
    },
  },
};

/** A Server-Sent Events text: each event's id, name and one line of JSON, as SseStream writes them. */
function eventStream(events: ReadonlyArray<{ id: string; event: string; data: unknown } | "ping">): string {
  return events.map((e) => (e === "ping" ? ": ping\n\n" : `id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`)).join("");
}

const runningFields = { id: view.id, provider: "tokenhub" };
const submitting = { ...runningFields, state: "active", step: "submit" };
const polling = { ...runningFields, state: "active", step: "poll", providerStatus: "running", progress: 40 };

/** `GET /v1/generations/{id}/events`: a job followed from its start to its end, and one that failed. */
export const GENERATION_EVENTS_EXAMPLES = {
  completed: eventStream([
    { id: `started:${positionOf(submitting)}`, event: "started", data: submitting },
    { id: `progress:${positionOf(polling)}`, event: "progress", data: polling },
    "ping",
    { id: "completed", event: "completed", data: GENERATION_EXAMPLES.completed },
  ]),
  failed: eventStream([
    { id: `started:${positionOf(submitting)}`, event: "started", data: submitting },
    {
      id: "failed",
      event: "failed",
      data: { ...runningFields, code: "task_failed", message: "the provider refused the prompt: content policy" },
    },
  ]),
};

const batchSummary = (COMPONENT_EXAMPLES.Batch!.completed as { summary: unknown }).summary;

/** `GET /v1/batches/{id}/events`: the counts as they change, then the summary. */
export const BATCH_EVENTS_EXAMPLES = {
  completed: eventStream([
    { id: "progress:2.1.0.1", event: "progress", data: { total: 2, completed: 1, failed: 0, pending: 1 } },
    { id: "progress:2.2.0.0", event: "progress", data: { total: 2, completed: 2, failed: 0, pending: 0 } },
    { id: "completed", event: "completed", data: { total: 2, completed: 2, failed: 0, pending: 0, summary: batchSummary } },
  ]),
};

/** `GET /v1/generations`: a page with more to come (its cursor names the page's last job), and the last page. */
export const GENERATION_PAGE_EXAMPLES = {
  page: {
    data: [{ ...GENERATION_EXAMPLES.active, id: "poster-2026-03-02-002" }, GENERATION_EXAMPLES.completed],
    // base64url of {"t":<the last job's enqueue time, ms>,"i":<its id>,"q":<its queue>}: opaque to callers
    nextCursor: "eyJ0IjoxNzcyNDQ2NTAwMDAwLCJpIjoicG9zdGVyLTIwMjYtMDMtMDItMDAxIiwicSI6ImtpbG46Z2VuZXJhdGUtdG9rZW5odWIifQ",
  },
  last: { data: [GENERATION_EXAMPLES.failed], nextCursor: null },
};

/** `GET /v1/batches`: one page, the last. */
export const BATCH_PAGE_EXAMPLES = {
  page: {
    data: [{ ...(COMPONENT_EXAMPLES.Batch!.running as object), id: "posters-2026-04" }, COMPONENT_EXAMPLES.Batch!.completed],
    nextCursor: null,
  },
};

/** `POST /v1/generations/{id}/retry`: the failed job waits again, as its second run. */
export const RETRY_EXAMPLES = { retried: { retried: true, id: view.id, provider: "tokenhub", run: 2 } };

/** `GET /v1/tenants/{id}/usage`: a tenant with a daily and a monthly budget, mid-day. */
export const TENANT_USAGE_EXAMPLES = {
  budgeted: {
    tenant: "studio-app",
    periods: [
      {
        period: "daily",
        id: "2026-03-02",
        limit: "50.00",
        currency: "CNY",
        spent: "12.40",
        reserved: "0.60",
        remaining: "37.00",
        exhausted: false,
      },
      {
        period: "monthly",
        id: "2026-03",
        limit: "1000.00",
        currency: "CNY",
        spent: "12.40",
        reserved: "0.60",
        remaining: "987.00",
        exhausted: false,
      },
    ],
  },
};

/** `GET /v1/webhooks/public-keys`: during a rotation, the new key and the old one; without KILN_WEBHOOK_SIGNING_KEYS, none. */
export const WEBHOOK_PUBLIC_KEYS_EXAMPLES = {
  rotating: {
    keys: [
      { publicKey: "whpk_yFNx+LaF61h/h2gHkbWZ5PJBHqs4K5+rz623bm7hc+o=", scheme: "v1a" },
      { publicKey: "whpk_RZBELZkqu/QEaX+P9/K8ATvei3eiZvfU2kHIPBBfmEg=", scheme: "v1a" },
    ],
  },
  none: { keys: [] },
};

/** An error body for each code, as the server words it. */
export const ERROR_EXAMPLES: Record<ApiErrorCode, string> = {
  invalid_request: "input.prompt: Invalid input: expected string, received undefined (in the body)",
  unauthorized: "missing bearer token: send Authorization: Bearer <KILN_API_TOKEN>",
  forbidden: 'tenant: this token writes as tenant studio-app only, not "nightly-pipeline"',
  auth_not_configured: "write endpoints are disabled: KILN_API_TOKEN is not configured on this server (nor KILN_API_TOKENS)",
  not_found: "no generation poster-2026-03-02-001",
  conflict: "id poster-2026-03-02-001 already holds a different request",
  unsupported_media_type: "the body must be JSON, sent with content-type: application/json",
  payload_too_large: "Request body is too large",
  range_not_satisfiable: "the range starts past the output's end (1482113 bytes)",
  not_ready: "redis: PING timed out after 2000 ms (connection reconnecting)",
  unavailable: "Redis is not reachable (connection reconnecting); try again later",
  redis_full: "Redis is full (maxmemory reached): the request ord-1 was not accepted; retry once memory is freed",
  internal: "internal error; the server log has the details",
};
