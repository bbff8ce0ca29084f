import type { FastifySchemaValidationError } from "fastify";
import { COMPONENT_EXAMPLES, ERROR_EXAMPLES } from "./openapi-examples.js";
import { openApiSchemas, type OpenApiSchemas } from "./openapi-schemas.js";
import { routeDoc, type JsonSchema, type RouteAnswer, type RouteAuth, type RouteDoc } from "./route-schemas.js";

/** A registered route: what the server saw in onRoute. */
export interface RegisteredRoute {
  method: string;
  url: string;
}

const AUTH_NOTE: Record<RouteAuth, string> = {
  none: "No token.",
  read: "Bearer KILN_READ_TOKEN or KILN_API_TOKEN, unless KILN_PUBLIC_READS=true.",
  write: "Bearer KILN_API_TOKEN; refused with 503 auth_not_configured while it is unset.",
};

/** The document's tags: every operation has one of these. */
export const API_TAGS = [
  { name: "generations", description: "Enqueue one generation request, read it back, cancel it." },
  { name: "batches", description: "Enqueue many requests as one batch (each with a custom_id) and follow its counts and summary." },
  { name: "tenants", description: "A tenant's budgets: spend, reservations and what remains per period." },
  { name: "webhooks", description: "What a webhook receiver verifies deliveries with: the public keys of the v1a signatures." },
  { name: "outputs", description: "The archived files of a completed generation: a presigned redirect (S3) or the bytes (local archive)." },
  { name: "operations", description: "Liveness, readiness, Prometheus metrics and this document." },
] as const;

/**
 * The OpenAPI 3.1 document of the routes actually registered, described by ROUTE_DOCS. A route
 * the table does not describe still appears, marked undocumented, so it cannot go unnoticed.
 * Schemas are JSON Schema 2020-12; each concept is one `components.schemas` entry (api-components.ts).
 */
export function openApiDocument(routes: readonly RegisteredRoute[], version: string): JsonSchema {
  const documented = routes.filter((r) => r.method !== "HEAD").map((r) => ({ ...r, doc: routeDoc(r.method, r.url) }));
  const schemas = openApiSchemas(documented.flatMap(({ doc }) => (doc ? schemasOf(doc) : [])));
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { method, url, doc } of documented) {
    const path = url.replace(/:([A-Za-z_]\w*)/g, "{$1}");
    const operation = doc
      ? operationOf(doc, schemas)
      : { summary: "undocumented route", responses: { default: { description: "not described in src/server/route-schemas.ts" } } };
    paths[path] = { ...paths[path], [method.toLowerCase()]: operation };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "kiln HTTP API",
      version,
      description:
        "Enqueue generation requests and read them back; batches, archived outputs; health, readiness and metrics. Every error answer is an ApiError: { error: { code, message } }.",
    },
    // relative: the server that served this document (OpenAPI resolves it against the document's own URL)
    servers: [{ url: "/", description: "the kiln server that served this document" }],
    tags: API_TAGS.map((tag) => ({ ...tag })),
    components: { schemas: schemas.components, securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    paths,
  };
}

/** Every JSON Schema a route's entry holds. */
function schemasOf(doc: RouteDoc): JsonSchema[] {
  const inputs = [doc.schema.params, doc.schema.querystring, doc.schema.headers, doc.schema.body] as Array<JsonSchema | undefined>;
  return [...inputs, ...Object.values(doc.responses).map((r) => r.schema)].filter((s): s is JsonSchema => s !== undefined);
}

function operationOf(doc: RouteDoc, schemas: OpenApiSchemas): Record<string, unknown> {
  const body = doc.schema.body as JsonSchema | undefined;
  return {
    operationId: doc.operationId,
    tags: [...doc.tags],
    summary: doc.summary,
    description: AUTH_NOTE[doc.auth],
    security: doc.auth === "none" ? [] : doc.auth === "read" ? [{ bearer: [] }, {}] : [{ bearer: [] }],
    parameters: [
      ...parameters("path", schemas.of((doc.schema.params as JsonSchema | undefined) ?? {})),
      ...parameters("query", schemas.of((doc.schema.querystring as JsonSchema | undefined) ?? {})),
      ...parameters("header", schemas.of((doc.schema.headers as JsonSchema | undefined) ?? {})),
    ],
    ...(body
      ? { requestBody: { required: !doc.bodyOptional, content: { "application/json": media(schemas.of(body), doc.bodyExamples) } } }
      : {}),
    responses: Object.fromEntries(Object.entries(doc.responses).map(([status, answer]) => [status, responseOf(answer, schemas)])),
  };
}

function responseOf(answer: RouteAnswer, schemas: OpenApiSchemas): Record<string, unknown> {
  const { description, schema, contentType = "application/json", errorCodes, examples } = answer;
  if (!schema) return { description };
  const shown = schemas.of(schema);
  const errors = errorCodes && Object.fromEntries(errorCodes.map((code) => [code, { error: { code, message: ERROR_EXAMPLES[code] } }]));
  return { description, content: { [contentType]: media(shown, examples ?? componentExamples(shown) ?? errors) } };
}

/** A media type object: the schema, and its examples (given, else the component's). */
function media(schema: JsonSchema, given: Record<string, unknown> | undefined): Record<string, unknown> {
  const examples = given ?? componentExamples(schema);
  return {
    schema,
    ...(examples ? { examples: Object.fromEntries(Object.entries(examples).map(([name, value]) => [name, { value }])) } : {}),
  };
}

/** The examples of the component a schema refers to, if it is a `$ref` to one that has some. */
function componentExamples(schema: JsonSchema): Record<string, unknown> | undefined {
  return typeof schema.$ref === "string" ? COMPONENT_EXAMPLES[schema.$ref.replace("#/components/schemas/", "")] : undefined;
}

/** OpenAPI parameters from an object schema of path, query or header fields. */
function parameters(where: "path" | "query" | "header", schema: JsonSchema): unknown[] {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).map(([name, s]) => ({
    name,
    in: where,
    required: where === "path" || required.has(name),
    ...(typeof s.description === "string" ? { description: s.description } : {}),
    schema: s,
  }));
}

/**
 * fastify's schemaErrorFormatter: ajv's first error as `field.path: message`, the way kiln's zod
 * errors read (`describeIssues`), so a caller sees one style whichever check refused the request.
 */
export function schemaErrorMessage(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const messages = errors.map((e) => {
    const at = e.instancePath.split("/").filter(Boolean).map(decodePointer);
    const params = e.params;
    const where = (...more: string[]) => [...at, ...more].join(".") || "(root)";
    if (e.keyword === "additionalProperties") return `${where()}: Unrecognized key: "${String(params.additionalProperty)}"`;
    if (e.keyword === "required") return `${where(String(params.missingProperty))}: is required`;
    if (e.keyword === "enum" && Array.isArray(params.allowedValues))
      return `${where()}: expected one of ${params.allowedValues.join(", ")}`;
    // a pattern says little to a person: the field's description says the rule (ajv's verbose errors carry it)
    const described = (e as { parentSchema?: { description?: unknown } }).parentSchema?.description;
    if (e.keyword === "pattern" && typeof described === "string") return `${where()}: must be ${described}`;
    return `${where()}: ${e.message ?? "is invalid"}`;
  });
  return new Error(`${messages.join("; ")} (in the ${dataVar === "querystring" ? "query string" : dataVar})`);
}

function decodePointer(segment: string): string {
  return segment.replace(/~1/g, "/").replace(/~0/g, "~");
}
