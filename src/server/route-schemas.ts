import type { FastifySchema, RouteOptions } from "fastify";
import { TenantUsage } from "./tenant-routes.js";
import { WebhookPublicKeys } from "./webhook-key-routes.js";
import { z } from "zod";
import { ApiError, ApiErrorCode } from "./api-error.js";
import { CreateBatchBody } from "./create-batch-body.js";
import { GenerationView } from "./generation-view.js";
import { LIST_STATES } from "../producers/job-lister.js";
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from "../producers/list-cursor.js";
import { BatchStatus } from "../batches/batch-status.js";
import {
  BatchCreated,
  CancelRecorded,
  CancelRequest,
  CreateBatchRequest,
  GenerationRequestBody,
  Health,
  NotReady,
  Provider,
  Readiness,
} from "./api-schemas.js";
import { jsonSchemaOf, type JsonSchema } from "./json-schema-of.js";
import {
  BATCH_EVENTS_EXAMPLES,
  BATCH_PAGE_EXAMPLES,
  GENERATION_EVENTS_EXAMPLES,
  GENERATION_PAGE_EXAMPLES,
  RETRY_EXAMPLES,
  TENANT_USAGE_EXAMPLES,
  WEBHOOK_PUBLIC_KEYS_EXAMPLES,
} from "./openapi-examples.js";

export type { JsonSchema } from "./json-schema-of.js";

/** Who may call a route, for the OpenAPI document (the hooks in the routes enforce it). */
export type RouteAuth = "none" | "read" | "write";

/** One documented answer of a route. */
export interface RouteAnswer {
  description: string;
  schema?: JsonSchema;
  /** @defaultValue application/json */
  contentType?: string;
  /** The error codes this status carries; each gets an example body (openapi-examples.ts). */
  errorCodes?: readonly ApiErrorCode[];
  /** Named example bodies. @defaultValue the examples of the schema's component, if it is one */
  examples?: Record<string, unknown>;
}

/** One route as the API documents it: its input schemas (validated by fastify) and its answers (documented only). */
export interface RouteDoc {
  /** Unique across the API: the method name a generated client gives this route. */
  operationId: string;
  /** Groups routes in the document (and generated clients): generations, batches, outputs, operations. */
  tags: readonly string[];
  summary: string;
  auth: RouteAuth;
  /** Validated before the handler runs; a request that fails is a 400 naming the field. */
  schema: Pick<FastifySchema, "params" | "querystring" | "body" | "headers">;
  /** Named example bodies. @defaultValue the examples of the body schema's component */
  bodyExamples?: Record<string, unknown>;
  /** The body may be left out. @defaultValue false */
  bodyOptional?: boolean;
  /** Status → description and body schema. Not given to fastify: a response schema would drop unlisted fields. */
  responses: Record<string, RouteAnswer>;
}

const idParams = (what: string): JsonSchema =>
  jsonSchemaOf(z.strictObject({ id: z.string().min(1).describe(`the ${what} id (percent-encoded in the path)`) }));

/** A job id and an output's index in its result. */
const outputParams = jsonSchemaOf(
  z.strictObject({
    id: z.string().min(1).describe("the job id (percent-encoded in the path)"),
    index: z
      .string()
      .regex(/^(0|[1-9][0-9]{0,5})$/)
      .describe("the output's `index` in the result"),
  }),
);

/** `?provider=` narrows a lookup to one provider's queue (BullMQ-minted ids repeat across queues). */
const providerQuery = jsonSchemaOf(z.strictObject({ provider: Provider.optional().describe("look in this provider's queue only") }));

/** `Prefer: wait=N` (RFC 7240, as Replicate takes it): answer when the job (batch) ends or after N seconds. */
const preferWaitHeaders: JsonSchema = {
  type: "object",
  properties: {
    prefer: {
      type: "string",
      description:
        "`wait=N` (1 to 60; more is taken as 60): answer once the job (batch) ended or after N seconds, whichever comes first, " +
        "with Preference-Applied: wait=N. Other or malformed preferences are ignored",
    },
  },
};

/** `Last-Event-ID`: an event stream resumes after the event with this id, sending nothing twice. */
const eventStreamHeaders: JsonSchema = {
  type: "object",
  properties: {
    "last-event-id": { type: "string", description: "the id of the last event received (EventSource sends it when it reconnects)" },
  },
};

const apiErrorSchema = jsonSchemaOf(ApiError, "output");
const generationViewSchema = jsonSchemaOf(GenerationView, "output");

/** An error answer: its description starts with its code (`not_found: ...`), unless `codes` names several. */
function error(description: string, codes?: readonly ApiErrorCode[]): RouteAnswer {
  const leading = ApiErrorCode.safeParse(/^([a-z_]+):/.exec(description)?.[1]);
  const errorCodes = codes ?? (leading.success ? [leading.data] : undefined);
  if (!errorCodes) throw new Error(`an error answer's description starts with its code: ${description}`);
  return { description, schema: apiErrorSchema, errorCodes };
}

const UNAVAILABLE = "unavailable: Redis is not reachable, or no answer within the request timeout";

/** Answers every `/v1/` route can give besides its own. */
const V1_ERRORS = {
  "400": error("invalid_request: a parameter or the body does not validate; the message names the field"),
  "503": error(UNAVAILABLE),
};
const READ_ERRORS = {
  ...V1_ERRORS,
  "401": error("unauthorized: missing or wrong bearer token (KILN_READ_TOKEN or KILN_API_TOKEN), with a WWW-Authenticate challenge"),
  "503": error("auth_not_configured: neither token is set and reads are not public; or unavailable, as for every /v1/ route", [
    "auth_not_configured",
    "unavailable",
  ]),
};
const WRITE_ERRORS = {
  ...V1_ERRORS,
  "401": error("unauthorized: missing or wrong bearer token (with a WWW-Authenticate challenge)"),
  "503": error(
    "auth_not_configured: KILN_API_TOKEN is unset, so every write is refused; or unavailable, as for every /v1/ route; or redis_full: Redis is at maxmemory and refused the write (nothing stored; Retry-After: 30)",
    ["auth_not_configured", "unavailable", "redis_full"],
  ),
};
/** A write with a tenant-bound token that names another tenant. */
const FORBIDDEN_TENANT = error("forbidden: the body names a tenant other than the tenant-bound token's (KILN_API_TOKENS)");

/** Answers of a route that takes a body. */
const BODY_ERRORS = {
  "413": error("payload_too_large: body over the limit (1 MiB)"),
  "415": error("unsupported_media_type: the body is not application/json"),
};

/** A page of a listing: newest first, and the cursor of the next page (null on the last). */
const pageOf = (item: z.ZodType) =>
  jsonSchemaOf(
    z.object({
      data: z.array(item),
      nextCursor: z.string().nullable().describe("pass as ?cursor= for the next page; null when this page is the last"),
    }),
    "output",
  );

/** The paging of a listing, and its `state` filter. */
const ListQuery = z.strictObject({
  state: z
    .string()
    .optional()
    .describe(`BullMQ states, comma-separated: ${LIST_STATES.join(", ")} (waiting includes prioritized); default all`),
  limit: z.string().optional().describe(`items per page, 1 to ${MAX_LIST_LIMIT} (default ${DEFAULT_LIST_LIMIT})`),
  cursor: z.string().optional().describe("the previous page's nextCursor"),
  tenant: z
    .string()
    .optional()
    .describe("one tenant's (default: those that named none); a tenant-bound token lists its own tenant's only, whatever this says"),
});

/** The query of `GET /v1/generations`: filters (all must match), limit and cursor. */
const generationListQuery = jsonSchemaOf(
  ListQuery.extend({
    provider: Provider.optional().describe("one provider's queue"),
    model: z.string().optional().describe("jobs whose request named this model"),
    batch: z.string().optional().describe("the jobs of this batch (its id)"),
  }),
);

const READ_LIST_ERRORS = {
  "400": error("invalid_request: a bad state, provider, limit or cursor; the message names the field"),
  "401": error("unauthorized: missing or wrong bearer token (KILN_READ_TOKEN or KILN_API_TOKEN)"),
  "503": error("auth_not_configured: neither token is set (and reads are not public); or unavailable, as for every /v1/ route", [
    "auth_not_configured",
    "unavailable",
  ]),
};

/** Listings: newest first, paged by an opaque cursor (docs/http-api.md, "Listing"). */
const LIST_ROUTE_DOCS: Record<string, RouteDoc> = {
  "GET /v1/generations": {
    operationId: "listGenerations",
    tags: ["generations"],
    summary: "Jobs of every provider and partition, newest enqueued first, filtered by state, provider, model or batch",
    auth: "read",
    schema: { querystring: generationListQuery },
    responses: {
      "200": {
        description: "a page: each item as GET /v1/generations/{id} answers it",
        schema: pageOf(GenerationView),
        examples: GENERATION_PAGE_EXAMPLES,
      },
      ...READ_LIST_ERRORS,
    },
  },
  "GET /v1/batches": {
    operationId: "listBatches",
    tags: ["batches"],
    summary: "Batches of every partition, newest created first, filtered by state",
    auth: "read",
    schema: { querystring: jsonSchemaOf(ListQuery) },
    responses: {
      "200": {
        description: "a page: each item as GET /v1/batches/{id} answers it",
        schema: pageOf(BatchStatus),
        examples: BATCH_PAGE_EXAMPLES,
      },
      ...READ_LIST_ERRORS,
    },
  },
};

/**
 * Every route of kiln's HTTP API, by `METHOD url` as fastify registers it. The server attaches
 * `schema` to each route as it is registered (onRoute), so the routes' own files stay about
 * behaviour, and `/openapi.json` is built from this table and the routes actually registered.
 */
const ROUTE_DOCS: Record<string, RouteDoc> = {
  "GET /healthz": {
    operationId: "getHealth",
    tags: ["operations"],
    summary: "Liveness: 200 while the process runs",
    auth: "none",
    schema: {},
    responses: {
      "200": { description: "the process answers", schema: jsonSchemaOf(Health, "output"), examples: { ok: { status: "ok" } } },
    },
  },
  "GET /readyz": {
    operationId: "getReadiness",
    tags: ["operations"],
    summary:
      "Readiness: Redis answers PING within 2 s and, in kiln worker, every BullMQ worker runs and the archive took the last probe's put",
    auth: "none",
    schema: {},
    responses: {
      "200": { description: "ready; `checks` names each check and its outcome", schema: jsonSchemaOf(Readiness, "output") },
      "503": { ...error("not_ready: the message names the failing checks"), schema: jsonSchemaOf(NotReady, "output") },
    },
  },
  "GET /metrics": {
    operationId: "getMetrics",
    tags: ["operations"],
    summary: "Prometheus metrics (text exposition format)",
    auth: "none",
    schema: {},
    responses: {
      "200": {
        description: "prom-client's text format",
        contentType: "text/plain",
        schema: { type: "string" },
        examples: { metrics: "# HELP kiln_jobs_enqueued_total Jobs enqueued\n# TYPE kiln_jobs_enqueued_total counter\n" },
      },
    },
  },
  "GET /openapi.json": {
    operationId: "getOpenApi",
    tags: ["operations"],
    summary: "This document",
    auth: "none",
    schema: {},
    responses: {
      "200": {
        description: "OpenAPI 3.1",
        schema: { type: "object", required: ["openapi", "info", "paths"] },
        examples: { document: { openapi: "3.1.0", info: { title: "kiln HTTP API", version: "0.1.0" }, paths: {} } },
      },
    },
  },
  "GET /v1/generations/:id": {
    operationId: "getGeneration",
    tags: ["generations"],
    summary: "A generation's state, step, progress, outputs and error",
    auth: "read",
    schema: { params: idParams("job"), querystring: providerQuery, headers: preferWaitHeaders },
    responses: {
      "200": {
        description: "the job as it stands now (with Prefer: wait, once it ended or the wait ran out)",
        schema: generationViewSchema,
      },
      "404": error("not_found: no such job (on that provider's queue, with ?provider=)"),
      "409": error("conflict: the id exists in two provider queues; add ?provider="),
      ...READ_ERRORS,
    },
  },
  "GET /v1/generations/:id/events": {
    operationId: "streamGenerationEvents",
    tags: ["generations"],
    summary: "Server-Sent Events of a job: started, progress, then completed or failed, after which the stream closes",
    auth: "read",
    schema: { params: idParams("job"), querystring: providerQuery, headers: eventStreamHeaders },
    responses: {
      "200": {
        description:
          "text/event-stream: `started` and `progress` ({id, provider, state, step, providerStatus?, progress?}), `completed` " +
          "(the job's view, as GET answers it) or `failed` ({id, provider, code, message}), each with an id; `: ping` every 15 s",
        contentType: "text/event-stream",
        schema: { type: "string" },
        examples: GENERATION_EVENTS_EXAMPLES,
      },
      "204": { description: "Last-Event-ID names the final event: nothing more will come (EventSource stops reconnecting)" },
      "404": error("not_found: no such job"),
      "409": error("conflict: the id exists in two provider queues; add ?provider="),
      "401": error("unauthorized: missing or wrong bearer token"),
      ...V1_ERRORS,
      "503": error("unavailable: Redis is not reachable or the request timed out; auth_not_configured: no read token is configured", [
        "auth_not_configured",
        "unavailable",
      ]),
    },
  },
  "POST /v1/generations": {
    operationId: "createGeneration",
    tags: ["generations"],
    summary: "Enqueue a generation request; with an `id`, idempotently",
    auth: "write",
    schema: { body: jsonSchemaOf(GenerationRequestBody), headers: preferWaitHeaders },
    responses: {
      "201": { description: "a new job; Location names it", schema: generationViewSchema },
      "200": { description: "the id already holds this very request: the existing job", schema: generationViewSchema },
      "409": error("conflict: the id already holds a different request"),
      "403": FORBIDDEN_TENANT,
      ...BODY_ERRORS,
      ...WRITE_ERRORS,
    },
  },
  "POST /v1/generations/:id/cancel": {
    operationId: "cancelGeneration",
    tags: ["generations"],
    summary: "Cancel a job that has not ended: it ends as failed with code `cancelled` and the reason given as its message",
    auth: "write",
    schema: { params: idParams("job"), querystring: providerQuery, body: jsonSchemaOf(CancelRequest) },
    bodyOptional: true,
    responses: {
      "202": { description: "the cancel is recorded", schema: jsonSchemaOf(CancelRecorded, "output") },
      "404": error("not_found: no such job"),
      "409": error("conflict: the job already ended, or the id needs ?provider="),
      ...BODY_ERRORS,
      ...WRITE_ERRORS,
    },
  },
  "POST /v1/generations/:id/retry": {
    operationId: "retryGeneration",
    tags: ["generations"],
    summary:
      "Run a failed job again under its id, as a new run: its state starts over, a cancel request is cleared, its webhooks carry new webhook-ids, and the provider bills it again",
    auth: "write",
    schema: { params: idParams("job"), querystring: providerQuery },
    responses: {
      "202": {
        description: "the job is waiting again; `run` is the new run's number (2 after the first retry)",
        schema: {
          type: "object",
          properties: {
            id: { type: "string" },
            provider: { type: "string" },
            run: { type: "integer", minimum: 2 },
            retried: { const: true },
          },
          required: ["id", "provider", "run", "retried"],
        },
        examples: RETRY_EXAMPLES,
      },
      "404": error("not_found: no such job"),
      "409": error(
        "conflict: the job has not failed (waiting, running or completed), belongs to a batch, is being retried already, or the id needs ?provider=",
      ),
      ...WRITE_ERRORS,
    },
  },
  "GET /v1/tenants/:id/usage": {
    operationId: "getTenantUsage",
    tags: ["tenants"],
    summary: "A tenant's budgeted periods (KILN_TENANT_BUDGETS): limit, spent, reserved and remaining for the current UTC day and month",
    auth: "read",
    schema: { params: idParams("tenant") },
    responses: {
      "200": {
        description: "the tenant and its budgeted periods (none without a budget)",
        schema: jsonSchemaOf(TenantUsage, "output"),
        examples: TENANT_USAGE_EXAMPLES,
      },
      "404": error("not_found: another tenant, for a tenant-bound token"),
      ...READ_ERRORS,
    },
  },
  "GET /v1/webhooks/public-keys": {
    operationId: "listWebhookPublicKeys",
    tags: ["webhooks"],
    summary:
      "The public keys that verify the v1a (Ed25519) signatures of webhook deliveries (KILN_WEBHOOK_SIGNING_KEYS), newest first; needs neither a token nor Redis",
    auth: "none",
    schema: {},
    responses: {
      "200": {
        description: "every signing key's public key (none when no key is configured)",
        schema: jsonSchemaOf(WebhookPublicKeys, "output"),
        examples: WEBHOOK_PUBLIC_KEYS_EXAMPLES,
      },
    },
  },
  "GET /v1/generations/:id/outputs/:index": {
    operationId: "getGenerationOutput",
    tags: ["outputs"],
    summary: "One archived output: a redirect to a presigned URL (S3 archive) or its bytes (local archive)",
    auth: "read",
    schema: { params: outputParams, querystring: providerQuery },
    responses: {
      "200": {
        description: "the whole output, with its archived content type; ETag is its sha256 (local archive)",
        contentType: "application/octet-stream",
        schema: { type: "string", contentMediaType: "application/octet-stream" },
        examples: { bytes: "<the output's bytes>" },
      },
      "206": {
        description: "the one `Range: bytes=` range asked for, with Content-Range (local archive)",
        contentType: "application/octet-stream",
        schema: { type: "string", contentMediaType: "application/octet-stream" },
        examples: { range: "<the range's bytes>" },
      },
      "302": { description: "S3 archive: Location is a presigned GET of the object, valid for KILN_OUTPUT_URL_TTL (1 h)" },
      "304": { description: "If-None-Match named the output's ETag" },
      "404": error("not_found: no such job, or it has no archived output with that index"),
      "409": error("conflict: the id exists in two provider queues; add ?provider="),
      "416": error("range_not_satisfiable: the range starts past the output's end (Content-Range: bytes */size)"),
      ...READ_ERRORS,
    },
  },
  "POST /v1/batches": {
    operationId: "createBatch",
    tags: ["batches"],
    summary: "Enqueue a batch: its requests (each with a custom_id), a webhook for batch.completed, an optional budget",
    auth: "write",
    // fastify checks each request only as "something": a bad one is reported by index, not a 400 of the whole batch
    schema: { body: jsonSchemaOf(CreateBatchBody, "input", CreateBatchRequest) },
    responses: {
      "201": {
        description: "what was enqueued; `invalidRequests` lists the requests refused, by index; Location names the batch",
        schema: jsonSchemaOf(BatchCreated, "output"),
      },
      "200": {
        description: "the same, when the batch existed already and nothing was added",
        schema: jsonSchemaOf(BatchCreated, "output"),
      },
      "403": FORBIDDEN_TENANT,
      "409": error("conflict: the batch id is taken by another tenant's batch"),
      ...BODY_ERRORS,
      ...WRITE_ERRORS,
    },
  },
  "GET /v1/batches/:id": {
    operationId: "getBatch",
    tags: ["batches"],
    summary: "A bulk batch's state and counts; its summary once it ended",
    auth: "read",
    schema: { params: idParams("batch"), headers: preferWaitHeaders },
    responses: {
      "200": {
        description:
          "the batch's counts; its budget when it has one, its summary once it ended (with Prefer: wait, once it ended or the wait ran out)",
        schema: jsonSchemaOf(BatchStatus, "output"),
      },
      "404": error("not_found: no such batch"),
      ...READ_ERRORS,
    },
  },
  "GET /v1/batches/:id/events": {
    operationId: "streamBatchEvents",
    tags: ["batches"],
    summary: "Server-Sent Events of a batch: progress as its counts change, then completed with the summary, after which the stream closes",
    auth: "read",
    schema: { params: idParams("batch"), headers: eventStreamHeaders },
    responses: {
      "200": {
        description:
          "text/event-stream: `progress` ({total, completed, failed, pending}) when the counts change, then `completed` " +
          "({total, completed, failed, pending, summary}), each with an id; `: ping` every 15 s",
        contentType: "text/event-stream",
        schema: { type: "string" },
        examples: BATCH_EVENTS_EXAMPLES,
      },
      "204": { description: "Last-Event-ID names the final event: nothing more will come (EventSource stops reconnecting)" },
      "404": error("not_found: no such batch"),
      "401": error("unauthorized: missing or wrong bearer token"),
      ...V1_ERRORS,
      "503": error("unavailable: Redis is not reachable or the request timed out; auth_not_configured: no read token is configured", [
        "auth_not_configured",
        "unavailable",
      ]),
    },
  },
};

/** The table's entry for a route; a HEAD route fastify adds for a GET is described by the GET. */
export function routeDoc(method: string, url: string): RouteDoc | undefined {
  const key = `${method === "HEAD" ? "GET" : method} ${url}`;
  return ROUTE_DOCS[key] ?? LIST_ROUTE_DOCS[key];
}

/** onRoute hook: gives a route its input schemas from the table (a schema the route sets itself wins). */
export function attachRouteSchema(route: RouteOptions): void {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const doc = routeDoc(String(methods[0]), route.url);
  if (doc) route.schema = { ...doc.schema, ...route.schema };
}

/** Every route the table describes, as fastify registers it (for building the document without a server). */
export function documentedRoutes(): Array<{ method: string; url: string; doc: RouteDoc }> {
  return Object.entries({ ...ROUTE_DOCS, ...LIST_ROUTE_DOCS }).map(([key, doc]) => {
    const [method = "", url = ""] = key.split(" ");
    return { method, url, doc };
  });
}
