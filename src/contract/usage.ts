import { z } from "zod";

const Count = z.number().int().min(0);

/**
 * What a generation used, normalised across providers. Only the figures that apply are present.
 * `source` says where they come from: `provider` (the answer reported them), `outputs` (the
 * answer reported nothing, so kiln counted what it returned) or `request` (seconds of video the
 * request asked for, when the answer does not say how long the video is).
 */
export const Usage = z.object({
  source: z.enum(["provider", "outputs", "request"]),
  promptTokens: Count.optional(),
  completionTokens: Count.optional(),
  totalTokens: Count.optional(),
  images: Count.optional(),
  videos: Count.optional(),
  /** 3D model files (a preview image beside each is not counted). */
  models: Count.optional(),
  /** Video seconds (or speech seconds, where a provider reports them). */
  seconds: z.number().min(0).optional(),
  /** Characters of text turned into speech. */
  characters: Count.optional(),
});
export type Usage = z.infer<typeof Usage>;

/** The numeric fields of `Usage`, in the order documents list them. */
export const USAGE_UNITS = [
  "promptTokens",
  "completionTokens",
  "totalTokens",
  "images",
  "videos",
  "models",
  "seconds",
  "characters",
] as const;
export type UsageUnit = (typeof USAGE_UNITS)[number];

/**
 * A sum of money as an exact decimal string (`"0.12"`, `"25.00"`, `"0.000254"`: at least two
 * decimals, at most twelve) in the price table's currency. Never a float: totals of many small
 * costs must not drift.
 */
export const Money = z.object({
  amount: z.string().regex(/^\d+\.\d{2,12}$/, { message: "expected a decimal string such as 0.12" }),
  currency: z.string().regex(/^[A-Z]{3}$/, { message: "expected a three-letter currency code" }),
});
export type Money = z.infer<typeof Money>;

/** A batch's usage: each figure summed over the jobs that reported it. */
export const UsageTotal = z.object(Object.fromEntries(USAGE_UNITS.map((unit) => [unit, z.number().min(0).optional()]))) as z.ZodObject<
  Record<(typeof USAGE_UNITS)[number], z.ZodOptional<z.ZodNumber>>
>;
export type UsageTotal = z.infer<typeof UsageTotal>;

/** What a batch summary says it used and cost. */
export const BatchTotals = z.object({
  usage: UsageTotal,
  /** The sum of the jobs' costs (exact), when any job had one. */
  cost: Money.optional(),
  /** Jobs with usage but no cost (the price table does not cover them, or not in this currency): the cost above leaves them out. */
  uncosted: z.number().int().min(0),
});
export type BatchTotals = z.infer<typeof BatchTotals>;
