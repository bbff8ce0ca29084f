import { z } from "zod";
import { API_COMPONENTS } from "./api-components.js";
import { zodSourceOf, type JsonSchema, type SchemaIo } from "./json-schema-of.js";

const REF = "#/components/schemas/";
/** Registry ids of route schemas that are no component: they are inlined where the route uses them. */
const ROUTE_ID = "route-schema-";

/** The document's schemas: the components, and each route schema as the document shows it. */
export interface OpenApiSchemas {
  /** `components.schemas`: every component some route schema reaches. */
  components: Record<string, JsonSchema>;
  /** A route schema as the document shows it: `$ref`s to components (JSON Schema 2020-12). */
  of(json: JsonSchema): JsonSchema;
}

/**
 * Converts the zod sources of `routeSchemas` (made by `jsonSchemaOf`) into JSON Schema 2020-12,
 * with every component they hold as a `$ref`. A route schema written as JSON is shown as it is.
 * Components are converted once for requests (zod's input side) and once for answers (output);
 * a component both sides reach must read the same on both, or it would be two concepts.
 */
export function openApiSchemas(routeSchemas: readonly JsonSchema[]): OpenApiSchemas {
  const shown = new Map<JsonSchema, JsonSchema>();
  const components: Record<string, JsonSchema> = {};
  for (const io of ["input", "output"] as const) {
    const uses = routeSchemas.filter((json) => zodSourceOf(json)?.io === io);
    const converted = convert(io, uses);
    for (const name of reachable(
      uses.map((json) => converted.routes.get(json) ?? {}),
      converted.components,
    )) {
      const schema = converted.components[name] ?? {};
      const other = components[name];
      if (other && JSON.stringify(other) !== JSON.stringify(schema))
        throw new Error(`component ${name} reads differently in requests and answers: give each side its own component`);
      components[name] = schema;
    }
    for (const [json, schema] of converted.routes) shown.set(json, schema);
  }
  return { components, of: (json) => shown.get(json) ?? json };
}

/** One zod conversion of every component and the route schemas of one side. */
function convert(io: SchemaIo, uses: readonly JsonSchema[]) {
  const registry = z.registry<{ id: string }>();
  const names = new Map<z.ZodType, string>();
  for (const [name, schema] of Object.entries(API_COMPONENTS)) {
    registry.add(schema, { id: name });
    names.set(schema, name);
  }
  const ids = new Map<JsonSchema, string>();
  for (const [i, json] of uses.entries()) {
    const source = zodSourceOf(json)?.schema;
    if (!source) continue;
    const name = names.get(source);
    if (name === undefined && !registry.has(source)) registry.add(source, { id: `${ROUTE_ID}${i}` });
    ids.set(json, name ?? registry.get(source)?.id ?? "");
  }
  const converted = z.toJSONSchema(registry, { target: "draft-2020-12", io, unrepresentable: "any", uri: (id) => `${REF}${id}` });
  // each schema's own `$id` is its uri: the document places it instead
  const schemas = Object.fromEntries(
    Object.entries(converted.schemas).map(([id, schema]) => {
      const { $schema: _dialect, $id: _id, ...rest } = schema as JsonSchema;
      return [id, rest];
    }),
  );
  // every schema a route uses is either a component or inlined where it is used: nothing is left to a shared $defs
  if ("__shared" in schemas || JSON.stringify(schemas).includes(`${REF}${ROUTE_ID}`))
    throw new Error("a route schema holds a schema another route uses on its own: name it in API_COMPONENTS");
  const routes = new Map<JsonSchema, JsonSchema>();
  for (const [json, id] of ids) routes.set(json, id.startsWith(ROUTE_ID) ? (schemas[id] ?? {}) : { $ref: `${REF}${id}` });
  const components = Object.fromEntries(Object.keys(API_COMPONENTS).map((name) => [name, schemas[name] ?? {}]));
  return { routes, components };
}

/** The names of the components `roots` refer to, directly or through other components. */
function reachable(roots: readonly JsonSchema[], components: Record<string, JsonSchema>): Set<string> {
  const found = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (typeof value !== "object" || value === null) return;
    for (const [key, inner] of Object.entries(value)) {
      if (key === "$ref" && typeof inner === "string" && inner.startsWith(REF)) {
        const name = inner.slice(REF.length);
        if (!found.has(name)) {
          found.add(name);
          visit(components[name]);
        }
      } else visit(inner);
    }
  };
  roots.forEach(visit);
  return found;
}
