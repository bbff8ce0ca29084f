import { isRecord } from "../util/describe-value.js";
import type { ArchivedOutput } from "./generation-result.js";

/**
 * Where anyone holding `href` may GET one archived output until `expiresAt` (ISO 8601): a bearer
 * credential, minted at read or delivery time and never stored (docs/webhooks.md, "Output links").
 */
export interface OutputLink {
  href: string;
  expiresAt: string;
}

/** Mints a fresh link to one archived object, served as `contentType` (an S3 presigned GET: `outputPresigner` in storage). */
export type PresignOutput = (output: Pick<ArchivedOutput, "key" | "contentType">) => Promise<OutputLink>;

/**
 * `presign` minting at most one link per key: a view that lists the same outputs twice (its
 * `outputs` and its `result.outputs`) shows one URL for each. Make one per answer or delivery.
 */
export function oncePerKey(presign: PresignOutput): PresignOutput {
  const minted = new Map<string, Promise<OutputLink>>();
  return (output) => {
    let link = minted.get(output.key);
    if (!link) minted.set(output.key, (link = presign(output)));
    return link;
  };
}

/** `outputs`, each with its `href` and `expiresAt`. */
export function linkedOutputs(outputs: readonly ArchivedOutput[], presign: PresignOutput): Promise<ArchivedOutput[]> {
  return Promise.all(outputs.map(async (output) => ({ ...output, ...(await presign(output)) })));
}

/**
 * A generation as an answer shows it (the HTTP view, `kiln status`'s status, an event) with its
 * `outputs` and its `result.outputs` linked: the same outputs, so give a `oncePerKey` presigner
 * and each gets one URL. Anything else comes back as it was.
 */
export async function linkedGeneration(view: unknown, presign: PresignOutput): Promise<unknown> {
  if (!isRecord(view)) return view;
  const linked: Record<string, unknown> = { ...view };
  if (Array.isArray(view.outputs)) linked.outputs = await linkedOutputs(view.outputs as ArchivedOutput[], presign);
  if (isRecord(view.result) && Array.isArray(view.result.outputs))
    linked.result = { ...view.result, outputs: await linkedOutputs(view.result.outputs as ArchivedOutput[], presign) };
  return linked;
}
