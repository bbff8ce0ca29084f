import { z } from "zod";
import { MODELS, PROVIDERS } from "./model-registry.js";
import type { ModelKind } from "./model-kind.js";
import type { ModelSpec } from "./model-spec.js";

/** One top-level field of a model's `input`, as its schema (the one the worker validates with) checks it. */
export interface InputField {
  name: string;
  /** JSON type: `string`, `integer`, `array of string`, `string | null`... */
  type: string;
  required: boolean;
  /** The values allowed, when the schema lists them (`const` is a list of one). */
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  /** `uri` for fields checked as URLs. */
  format?: string;
}

/** A model as `kiln models` lists it. */
export interface CatalogModel {
  id: string;
  displayName?: string;
  kind: ModelKind;
  mode: "sync" | "async";
  input: {
    fields: InputField[];
    /** Fields not listed are passed to the provider as given (its API adds parameters faster than kiln lists them). */
    otherFields: boolean;
  };
}

/** Every provider with the models kiln knows for it, described from the input schemas the worker validates with. */
export function modelCatalog(): { providers: { name: string; models: CatalogModel[] }[] } {
  return {
    providers: PROVIDERS.map((name) => ({ name, models: MODELS.filter((m) => m.provider === name).map(describeModel) })),
  };
}

type JsonSchema = Record<string, unknown>;

function describeModel(model: ModelSpec): CatalogModel {
  // refinements (at least one of two fields) cannot be said in JSON Schema: they stay to the validation's messages
  const schema = z.toJSONSchema(model.input, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return {
    id: model.id,
    ...(model.displayName ? { displayName: model.displayName } : {}),
    kind: model.kind,
    mode: model.mode,
    input: {
      fields: Object.entries(properties).map(([name, field]) => describeField(name, field, required.has(name))),
      otherFields: schema.additionalProperties !== false,
    },
  };
}

/** zod's bounds of a plain integer (the safe integers) say nothing a caller needs. */
const UNBOUNDED = new Set([Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]);

function describeField(name: string, field: JsonSchema, required: boolean): InputField {
  const values = Array.isArray(field.enum) ? field.enum : "const" in field ? [field.const] : undefined;
  const bound = (key: string) => (typeof field[key] === "number" && !UNBOUNDED.has(field[key]) ? { [key]: field[key] } : {});
  return {
    name,
    type: typeOf(field),
    required,
    ...(values ? { enum: values } : {}),
    ...bound("minimum"),
    ...bound("maximum"),
    ...bound("minLength"),
    ...bound("maxLength"),
    ...bound("minItems"),
    ...bound("maxItems"),
    ...(typeof field.format === "string" ? { format: field.format } : {}),
  };
}

function typeOf(field: JsonSchema): string {
  if (Array.isArray(field.anyOf)) return (field.anyOf as JsonSchema[]).map(typeOf).join(" | ");
  if (field.type === "array")
    return field.items && typeof field.items === "object" ? `array of ${typeOf(field.items as JsonSchema)}` : "array";
  if (typeof field.type === "string") return field.type;
  if (Array.isArray(field.type)) return field.type.join(" | ");
  return "any";
}
