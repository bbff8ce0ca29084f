import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { ModelKind } from "../providers/model-kind.js";
import { findModel, isProvider, PROVIDERS } from "../providers/model-registry.js";
import { MAX_PRICE_DECIMALS, parseDecimal, type DecimalAmount } from "./decimal-amount.js";

/** The units a model may be priced in, and the usage figure each one multiplies. */
export const PRICE_UNITS = {
  per_request: "one per completed generation",
  per_image: "images",
  per_video: "videos",
  per_second: "seconds (video or speech)",
  per_3d_model: "models",
  per_character: "characters",
  per_1k_prompt_tokens: "promptTokens / 1000",
  per_1k_completion_tokens: "completionTokens / 1000",
} as const;
export type PriceUnit = keyof typeof PRICE_UNITS;

/** Which units make sense for each kind of model: a price in another unit is a mistake, refused at start-up. */
const UNITS_BY_KIND: Record<ModelKind, readonly PriceUnit[]> = {
  image: ["per_request", "per_image"],
  video: ["per_request", "per_video", "per_second"],
  "3d": ["per_request", "per_3d_model"],
  audio: ["per_request", "per_character", "per_second"],
  text: ["per_request", "per_1k_prompt_tokens", "per_1k_completion_tokens"],
};

/** A price: a non-negative decimal of at most 9 decimals, as a number or a string (`0.0008`, `"0.0008"`). */
const Price = z.union([z.number(), z.string()], { message: "expected a non-negative number" }).transform((value, ctx) => {
  const amount = parseDecimal(value, MAX_PRICE_DECIMALS);
  if (amount === undefined)
    ctx.addIssue({ code: "custom", message: `expected a non-negative number with at most ${MAX_PRICE_DECIMALS} decimals` });
  return amount ?? 0n;
});

const ModelPrices = z
  .strictObject(Object.fromEntries(Object.keys(PRICE_UNITS).map((unit) => [unit, Price.optional()])))
  .refine((entry) => Object.values(entry).some((v) => v !== undefined), {
    message: `expected at least one of ${Object.keys(PRICE_UNITS).join(", ")}`,
  });

/** The file's shape: a currency and prices per provider and model. */
const PriceFile = z.strictObject({
  currency: z.string().regex(/^[A-Z]{3}$/, { message: "expected a three-letter currency code such as CNY or USD" }),
  prices: z.record(z.string(), z.record(z.string(), ModelPrices)),
});

/** One model's prices, in pico-units per unit. */
export type ModelPrice = Partial<Record<PriceUnit, DecimalAmount>>;

/** Thrown when the price file cannot be read or does not validate; the message names the entry (`tokenhub.hy-image-v3.0.per_image: …`). */
export class PriceTableError extends Error {
  override name = "PriceTableError";
}

/**
 * The operator's prices (KILN_PRICES): kiln's code holds none. Looked up by provider and the
 * model id as kiln's registry spells it.
 */
export class PriceTable {
  private constructor(
    readonly currency: string,
    private readonly prices: ReadonlyMap<string, ModelPrice>,
  ) {}

  /** Parses and checks a file's contents (JSON or YAML). `source` names it in errors. */
  static parse(text: string, source = "KILN_PRICES"): PriceTable {
    let raw: unknown;
    try {
      raw = parseYaml(text); // YAML is a superset of JSON: one parser reads both
    } catch (err) {
      throw new PriceTableError(`${source}: not valid JSON or YAML: ${(err as Error).message}`);
    }
    const parsed = PriceFile.safeParse(raw);
    if (!parsed.success) {
      // entries are named as an operator reads them: provider.model.unit, without the `prices.` above them
      const where = (path: PropertyKey[]) => (path[0] === "prices" && path.length > 1 ? path.slice(1) : path).map(String).join(".");
      const problems = parsed.error.issues.map((i) => `${source}: ${where(i.path) || "(root)"}: ${i.message}`);
      throw new PriceTableError(problems.join("\n"));
    }
    const prices = new Map<string, ModelPrice>();
    const problems: string[] = [];
    for (const [provider, models] of Object.entries(parsed.data.prices)) {
      if (!isProvider(provider)) {
        problems.push(`${source}: ${provider}: unknown provider; known: ${PROVIDERS.join(", ")}`);
        continue;
      }
      for (const [id, entry] of Object.entries(models)) {
        const model = findModel(provider, id);
        if (!model) {
          problems.push(`${source}: ${provider}.${id}: unknown ${provider} model (prices name models of kiln's registry)`);
          continue;
        }
        const price = Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined)) as ModelPrice;
        for (const unit of Object.keys(price) as PriceUnit[])
          if (!UNITS_BY_KIND[model.kind].includes(unit))
            problems.push(
              `${source}: ${provider}.${id}.${unit}: not a unit of a ${model.kind} model; use ${UNITS_BY_KIND[model.kind].join(", ")}`,
            );
        if (prices.has(key(provider, model.id))) problems.push(`${source}: ${provider}.${id}: priced twice (ids are case-insensitive)`);
        prices.set(key(provider, model.id), price);
      }
    }
    if (problems.length > 0) throw new PriceTableError(problems.join("\n"));
    return new PriceTable(parsed.data.currency, prices);
  }

  /** Reads and checks the file at `path`. */
  static load(path: string): PriceTable {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw new PriceTableError(`KILN_PRICES: cannot read ${path}: ${(err as Error).message}`);
    }
    return PriceTable.parse(text);
  }

  /** The prices of `provider`'s `modelId` (the registry's spelling), or undefined when the table does not cover it. */
  priceOf(provider: string, modelId: string): ModelPrice | undefined {
    return this.prices.get(key(provider, modelId));
  }
}

function key(provider: string, modelId: string): string {
  return `${provider}\u0000${modelId.toLowerCase()}`;
}
