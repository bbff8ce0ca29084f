import type { FastifySchema, RouteOptions } from "fastify";
import { z } from "zod";
import { GenerationRequest } from "../contract/generation-request.js";
import { PROVIDERS } from "../providers/model-registry.js";
import { ApiError } from "./api-error.js";
import { EnqueueBody } from "./enqueue-body.js";
import { JOB_ID_RULE } from "../contract/job-id.js";
import { CreateBatchBody } from "./create-batch-body.js";
import { GenerationView } from "./generation-view.js";

/** A JSON Schema object, as fastify and OpenAPI take it. */
export type JsonSchema = Record<string, unknown>;

/** Who may call a route, for the OpenAPI document (the hooks in the routes enforce it). */
export type RouteAuth = "none" | "read" | "write";

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
  /** Status → description and body schema. Not given to fastify: a response schema would drop unlisted fields. */
  responses: Record<string, { description: string; schema?: JsonSchema; contentType?: string }>;
}

/** A zod schema as draft-07 JSON Schema (fastify's ajv), without `$schema`; unrepresentable checks stay to the handler. */
function jsonSchemaOf(schema: z.ZodType, io: "input" | "output" = "input"): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: "draft-07", io, unrepresentable: "any" }) as JsonSchema;
  return rest;
}

/** The body of `POST /v1/generations`: the queue contract's job data plus the optional idempotency key. */
const enqueueBodySchema = jsonSchemaOf(
  // the description doubles as the 400's wording when the pattern refuses an id
  GenerationRequest.extend({ id: EnqueueBody.shape.id.describe(JOB_ID_RULE) }),
);

const idParams = (what: string): JsonSchema => ({
  type: "object",
  properties: { id: { type: "string", minLength: 1, description: `the ${what} id (percent-encoded in the path)` } },
  required: ["id"],
  additionalProperties: false,
});

/** The optional body of a cancel: why, which becomes the failed job's error message. */
const cancelBody: JsonSchema = {
  type: "object",
  properties: {
    reason: { type: "string", minLength: 1, maxLength: 500, description: "why; the job's error message (default: cancelled by request)" },
  },
  additionalProperties: false,
};

/** A job id and an output's index in its result. */
const outputParams: JsonSchema = {
  type: "object",
  properties: {
    id: { type: "string", minLength: 1, description: "the job id (percent-encoded in the path)" },
    index: { type: "string", pattern: "^(0|[1-9][0-9]{0,5})$", description: "the output's `index` in the result" },
  },
  required: ["id", "index"],
  additionalProperties: false,
};

/** `?provider=` narrows a lookup to one provider's queue (BullMQ-minted ids repeat across queues). */
const providerQuery: JsonSchema = {
  type: "object",
  properties: { provider: { type: "string", enum: [...PROVIDERS], description: "look in this provider's queue only" } },
  additionalProperties: false,
};

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
const error = (description: string) => ({ description, schema: apiErrorSchema });

/** Answers every `/v1/` route can give besides its own. */
const V1_ERRORS = {
  "400": error("invalid_request: a parameter or the body does not validate; the message names the field"),
  "503": error("unavailable: Redis is not reachable, or no answer within the request timeout"),
};
const WRITE_ERRORS = {
  ...V1_ERRORS,
  "401": error("unauthorized: missing or wrong bearer token (with a WWW-Authenticate challenge)"),
  "503": error("auth_not_configured: KILN_API_TOKEN is unset, so every write is refused; or unavailable, as for every /v1/ route"),
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
    responses: { "200": { description: "the process answers", schema: { type: "object", properties: { status: { const: "ok" } } } } },
  },
  "GET /readyz": {
    operationId: "getReadiness",
    tags: ["operations"],
    summary: "Readiness: Redis answers PING within 2 s and, in kiln worker, every BullMQ worker runs",
    auth: "none",
    schema: {},
    responses: {
      "200": {
        description: "ready; `checks` names each check and its outcome",
        schema: { type: "object", properties: { status: { const: "ready" }, checks: { type: "object" } } },
      },
      "503": error("not_ready: the message names the failing checks"),
    },
  },
  "GET /metrics": {
    operationId: "getMetrics",
    tags: ["operations"],
    summary: "Prometheus metrics (text exposition format)",
    auth: "none",
    schema: {},
    responses: { "200": { description: "prom-client's text format", contentType: "text/plain", schema: { type: "string" } } },
  },
  "GET /openapi.json": {
    operationId: "getOpenApi",
    tags: ["operations"],
    summary: "This document",
    auth: "none",
    schema: {},
    responses: { "200": { description: "OpenAPI 3.1", schema: { type: "object" } } },
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
      ...V1_ERRORS,
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
      },
      "204": { description: "Last-Event-ID names the final event: nothing more will come (EventSource stops reconnecting)" },
      "404": error("not_found: no such job"),
      "409": error("conflict: the id exists in two provider queues; add ?provider="),
      "401": error("unauthorized: missing or wrong bearer token"),
      ...V1_ERRORS,
      "503": error("unavailable: Redis is not reachable or the request timed out; auth_not_configured: no read token is configured"),
    },
  },
  "POST /v1/generations": {
    operationId: "createGeneration",
    tags: ["generations"],
    summary: "Enqueue a generation request; with an `id`, idempotently",
    auth: "write",
    schema: { body: enqueueBodySchema, headers: preferWaitHeaders },
    responses: {
      "201": { description: "a new job; Location names it", schema: generationViewSchema },
      "200": { description: "the id already holds this very request: the existing job", schema: generationViewSchema },
      "409": error("conflict: the id already holds a different request"),
      "413": error("payload_too_large: body over the limit (1 MiB)"),
      "415": error("unsupported_media_type: the body is not application/json"),
      ...WRITE_ERRORS,
    },
  },
  "POST /v1/generations/:id/cancel": {
    operationId: "cancelGeneration",
    tags: ["generations"],
    summary: "Cancel a job that has not ended: it ends as failed with code `cancelled` and the reason given as its message",
    auth: "write",
    schema: { params: idParams("job"), querystring: providerQuery, body: cancelBody },
    responses: {
      "202": {
        description: "the cancel is recorded",
        schema: { type: "object", properties: { id: { type: "string" }, state: { type: "string" }, cancelled: { const: true } } },
      },
      "404": error("not_found: no such job"),
      "409": error("conflict: the job already ended, or the id needs ?provider="),
      ...WRITE_ERRORS,
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
        schema: { type: "string", format: "binary" },
      },
      "206": {
        description: "the one `Range: bytes=` range asked for, with Content-Range (local archive)",
        contentType: "application/octet-stream",
      },
      "302": { description: "S3 archive: Location is a presigned GET of the object, valid for KILN_OUTPUT_URL_TTL (1 h)" },
      "304": { description: "If-None-Match named the output's ETag" },
      "404": error("not_found: no such job, or it has no archived output with that index"),
      "409": error("conflict: the id exists in two provider queues; add ?provider="),
      "416": error("range_not_satisfiable: the range starts past the output's end (Content-Range: bytes */size)"),
      ...V1_ERRORS,
    },
  },
  "POST /v1/batches": {
    operationId: "createBatch",
    tags: ["batches"],
    summary: "Enqueue a batch: its requests (each with a custom_id), a webhook for batch.completed, an optional budget",
    auth: "write",
    schema: { body: jsonSchemaOf(CreateBatchBody) },
    responses: {
      "201": {
        description:
          "`{batchId, total, invalid, added, alreadyCompleted, alreadySealed, invalidRequests: [{index, message}]}`; Location names the batch",
        schema: { type: "object" },
      },
      "200": { description: "the same, when the batch existed already and nothing was added", schema: { type: "object" } },
      "413": error("payload_too_large: body over the limit (1 MiB)"),
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
          "`{id, state, sealed, total, invalid, counts: {completed, failed, pending}, budget?, summary?}` " +
          "(with Prefer: wait, once the batch ended or the wait ran out)",
        schema: { type: "object" },
      },
      "404": error("not_found: no such batch"),
      ...V1_ERRORS,
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
      },
      "204": { description: "Last-Event-ID names the final event: nothing more will come (EventSource stops reconnecting)" },
      "404": error("not_found: no such batch"),
      "401": error("unauthorized: missing or wrong bearer token"),
      ...V1_ERRORS,
      "503": error("unavailable: Redis is not reachable or the request timed out; auth_not_configured: no read token is configured"),
    },
  },
};

/** The table's entry for a route; a HEAD route fastify adds for a GET is described by the GET. */
export function routeDoc(method: string, url: string): RouteDoc | undefined {
  return ROUTE_DOCS[`${method === "HEAD" ? "GET" : method} ${url}`];
}

/** onRoute hook: gives a route its input schemas from the table (a schema the route sets itself wins). */
export function attachRouteSchema(route: RouteOptions): void {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const doc = routeDoc(String(methods[0]), route.url);
  if (doc) route.schema = { ...doc.schema, ...route.schema };
}
