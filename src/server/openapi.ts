import type { FastifySchemaValidationError } from "fastify";
import { routeDoc, type JsonSchema, type RouteAuth } from "./route-schemas.js";

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

/**
 * The OpenAPI 3.1 document of the routes actually registered, described by ROUTE_DOCS. A route
 * the table does not describe still appears, marked undocumented, so it cannot go unnoticed.
 */
export function openApiDocument(routes: readonly RegisteredRoute[], version: string): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { method, url } of routes) {
    if (method === "HEAD") continue;
    const path = url.replace(/:([A-Za-z_]\w*)/g, "{$1}");
    const doc = routeDoc(method, url);
    const operation: Record<string, unknown> = doc
      ? {
          operationId: doc.operationId,
          tags: [...doc.tags],
          summary: doc.summary,
          description: AUTH_NOTE[doc.auth],
          ...(doc.auth === "none"
            ? { security: [] }
            : doc.auth === "read"
              ? { security: [{ bearer: [] }, {}] }
              : { security: [{ bearer: [] }] }),
          parameters: [
            ...parameters("path", doc.schema.params as JsonSchema | undefined),
            ...parameters("query", doc.schema.querystring as JsonSchema | undefined),
            ...parameters("header", doc.schema.headers as JsonSchema | undefined),
          ],
          ...(doc.schema.body ? { requestBody: { required: true, content: { "application/json": { schema: doc.schema.body } } } } : {}),
          responses: Object.fromEntries(
            Object.entries(doc.responses).map(([status, r]) => [
              status,
              {
                description: r.description,
                ...(r.schema ? { content: { [r.contentType ?? "application/json"]: { schema: r.schema } } } : {}),
              },
            ]),
          ),
        }
      : { summary: "undocumented route", responses: { default: { description: "not described in src/server/route-schemas.ts" } } };
    paths[path] = { ...paths[path], [method.toLowerCase()]: operation };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "kiln HTTP API",
      version,
      description:
        "Enqueue generation requests and read them back; health, readiness and metrics. Every error answer is { error: { code, message } }.",
    },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    paths,
  };
}

/** OpenAPI parameters from an object schema of path, query or header fields. */
function parameters(where: "path" | "query" | "header", schema: JsonSchema | undefined): unknown[] {
  const properties = (schema?.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema?.required ?? []) as string[]);
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
