import { Command } from "commander";
import { modelCatalog, type CatalogModel, type InputField } from "../providers/model-catalog.js";
import { printJson } from "./cli-output.js";

/** `kiln models`: every provider's models, their kind and their input fields, from the schemas the worker validates with. */
export function modelsCommand(): Command {
  return new Command("models")
    .description("list every provider's models with their kind and input fields (* required)")
    .option("--json", "print { providers: [{ name, models: [{ id, kind, mode, input: { fields, otherFields } }] }] }")
    .action((o: { json?: boolean }) => {
      const catalog = modelCatalog();
      if (o.json) return printJson(catalog);
      for (const provider of catalog.providers) {
        console.log(`${provider.name}:`);
        for (const model of provider.models) console.log(formatModel(model));
      }
    });
}

/** `  hy-image-lite  image, async  prompt* (string, min length 1), …` */
function formatModel(model: CatalogModel): string {
  const fields = model.input.fields.map(formatField).join(", ");
  return `  ${model.id}  ${model.kind}, ${model.mode}  ${fields}${model.input.otherFields ? " (other fields passed as given)" : ""}`;
}

function formatField(field: InputField): string {
  const details = [
    field.type,
    field.enum ? `one of ${field.enum.map((v) => JSON.stringify(v)).join("/")}` : undefined,
    field.minimum !== undefined || field.maximum !== undefined ? `${field.minimum ?? ""}..${field.maximum ?? ""}` : undefined,
    field.minLength !== undefined ? `min length ${field.minLength}` : undefined,
    field.maxLength !== undefined ? `max length ${field.maxLength}` : undefined,
    field.minItems !== undefined ? `min ${field.minItems} items` : undefined,
    field.format,
  ].filter(Boolean);
  return `${field.name}${field.required ? "*" : ""} (${details.join(", ")})`;
}
