import { z } from "zod";

/** A JSON Schema object, as fastify and OpenAPI take it. */
export type JsonSchema = Record<string, unknown>;

/** Which side of a zod schema a JSON Schema describes: what it accepts, or what it produces. */
export type SchemaIo = "input" | "output";

/** The zod schema each route schema was made from, and the one the OpenAPI document shows for it. */
const sources = new WeakMap<JsonSchema, { schema: z.ZodType; io: SchemaIo }>();

/**
 * A zod schema as draft-07 JSON Schema for fastify's ajv: self-contained (every part inline),
 * without `$schema`; unrepresentable checks stay to the handler. The OpenAPI document does not
 * show this copy: it converts `documented` (by default the same zod schema) again, with each
 * component as a `$ref` (api-components.ts), so the validator and the document share one source.
 */
export function jsonSchemaOf(schema: z.ZodType, io: SchemaIo = "input", documented: z.ZodType = schema): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: "draft-07", io, unrepresentable: "any" }) as JsonSchema;
  sources.set(rest, { schema: documented, io });
  return rest;
}

/** The zod schema a route schema was made from by `jsonSchemaOf`; undefined for one written as JSON. */
export function zodSourceOf(json: JsonSchema): { schema: z.ZodType; io: SchemaIo } | undefined {
  return sources.get(json);
}
