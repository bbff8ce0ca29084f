import { describe, expect, it } from "vitest";
import { validate, compileErrors } from "@readme/openapi-parser";
import { Ajv } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import { API_TAGS, openApiDocument } from "../../src/server/openapi.js";
import { documentedRoutes, type JsonSchema } from "../../src/server/route-schemas.js";

type Operation = {
  operationId: string;
  tags: string[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { content?: Record<string, Media> }>;
};
type Media = { schema: JsonSchema; examples?: Record<string, { value: unknown }> };

const routes = documentedRoutes();
const doc = openApiDocument(routes, "0.0.0-test") as {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema> };
};
const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops).map(([method, op]) => ({ at: `${method.toUpperCase()} ${path}`, op })),
);

/** Validates a value against a schema of the document, `$ref`s to components and all. */
function documentValidator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(doc, "kiln-openapi.json");
  return (pointer: string, value: unknown) => {
    const check = ajv.compile({ $ref: `kiln-openapi.json#${pointer}` });
    return check(value) ? [] : (check.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}
const escape = (segment: string) => segment.replace(/~/g, "~0").replace(/\//g, "~1");

describe("the OpenAPI document (openApiDocument)", () => {
  it("is valid OpenAPI 3.1 by @readme/openapi-parser", async () => {
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
  });

  it("gives every operation a unique operationId and a documented tag, and has servers and tag descriptions", () => {
    const ids = operations.map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const tags = new Set<string>(API_TAGS.map((t) => t.name));
    for (const { at, op } of operations) for (const tag of op.tags) expect(tags.has(tag), `${at}: ${tag}`).toBe(true);
    expect((doc as unknown as { servers: unknown[] }).servers).toEqual([{ url: "/", description: expect.any(String) }]);
  });

  it("has an example for every request body and every answer with a body, each valid against its schema", () => {
    const check = documentValidator();
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const media = [
          ...Object.entries(op.requestBody?.content ?? {}).map(
            ([type, m]) => [`/paths/${escape(path)}/${method}/requestBody/content/${escape(type)}`, m] as const,
          ),
          ...Object.entries(op.responses).flatMap(([status, r]) =>
            Object.entries(r.content ?? {}).map(
              ([type, m]) => [`/paths/${escape(path)}/${method}/responses/${status}/content/${escape(type)}`, m] as const,
            ),
          ),
        ];
        for (const [pointer, m] of media) {
          expect(Object.keys(m.examples ?? {}).length, `${pointer} has no example`).toBeGreaterThan(0);
          for (const [name, example] of Object.entries(m.examples ?? {})) {
            expect(check(`${pointer}/schema`, example.value), `${pointer} example ${name}`).toEqual([]);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it("shows a generation in every state and an error body for every code a status carries", () => {
    const get = doc.paths["/v1/generations/{id}"]!.get!;
    expect(Object.keys(get.responses["200"]!.content!["application/json"]!.examples!)).toEqual([
      "waiting",
      "active",
      "delayed",
      "completed",
      "failed",
    ]);
    const writeUnavailable = doc.paths["/v1/generations"]!.post!.responses["503"]!.content!["application/json"]!.examples!;
    expect(Object.values(writeUnavailable).map((e) => (e.value as { error: { code: string } }).error.code)).toEqual([
      "auth_not_configured",
      "unavailable",
      "redis_full",
    ]);
  });

  it("has one schema per concept: both webhook URLs, the provider, errors and generations are $refs to one component", () => {
    const { schemas } = doc.components;
    const webhookUrlOf = (name: string) =>
      ((schemas[name]!.properties as Record<string, JsonSchema>).webhook!.properties as Record<string, JsonSchema>).url;
    expect(webhookUrlOf("GenerationRequest")).toEqual({ $ref: "#/components/schemas/WebhookUrl" });
    expect(webhookUrlOf("CreateBatchRequest")).toEqual({ $ref: "#/components/schemas/WebhookUrl" });
    expect((schemas.BatchRequest!.properties as Record<string, JsonSchema>).provider).toEqual({ $ref: "#/components/schemas/Provider" });
    expect((schemas.CreateBatchRequest!.properties as Record<string, JsonSchema>).requests!.items).toEqual({
      $ref: "#/components/schemas/BatchRequest",
    });
    const text = JSON.stringify(doc.paths);
    // no route carries an inline copy of a component: the enum, the error body, the URL rule
    expect(text).not.toContain('"enum":["tokenhub","gateway","wcode"]');
    expect(text).not.toContain('"pattern":"^https?:\\\\/\\\\/"');
    expect(text).not.toContain('"not_found","conflict"');
    const batch = doc.paths["/v1/batches/{id}"]!.get!.responses["200"]!.content!["application/json"]!.schema;
    expect(batch).toEqual({ $ref: "#/components/schemas/Batch" });
    expect(schemas.Batch!.required).toEqual(expect.arrayContaining(["id", "state", "sealed", "total", "invalid", "counts"]));
    const created = doc.paths["/v1/batches"]!.post!.responses["201"]!.content!["application/json"]!.schema;
    expect(created).toEqual({ $ref: "#/components/schemas/BatchCreated" });
  });

  it("documents bodies fastify accepts: each request body example passes the route's own (draft-07, self-contained) schema", () => {
    const ajv = new Ajv({ strict: false });
    for (const { method, url, doc: route } of routes) {
      const body = route.schema.body as JsonSchema | undefined;
      if (!body) continue;
      const path = url.replace(/:([A-Za-z_]\w*)/g, "{$1}");
      const examples = doc.paths[path]![method.toLowerCase()]!.requestBody!.content["application/json"]!.examples!;
      const check = ajv.compile(body);
      for (const [name, { value }] of Object.entries(examples))
        expect(check(value), `${method} ${url} ${name}: ${ajv.errorsText(check.errors)}`).toBe(true);
    }
  });
});
