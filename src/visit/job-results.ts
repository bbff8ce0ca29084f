import type { GenerationError, GenerationResult } from "../contract/generation-result.js";
import type { JobState } from "../state/job-state.js";
import { costOf } from "../billing/cost-of.js";
import { formatDecimal } from "../billing/decimal-amount.js";
import type { PriceTable } from "../billing/price-table.js";
import { GenerationRequest } from "../contract/generation-request.js";
import { tenantOf } from "../contract/tenant.js";
import { isRecord } from "../util/describe-value.js";
import { buildResult } from "./generation-outcome.js";
import { resolveModel } from "../providers/model-registry.js";
import type { AcceptedJob } from "./job-intake.js";

/** What a result says of its job besides its request: its id and when it was enqueued. */
export interface ResultJob {
  id: string;
  enqueuedAt: number;
}

/** The results jobs end with, priced at the operator's prices (`KILN_PRICES`) when they cover the model. */
export class JobResults {
  constructor(
    private readonly provider: string,
    private readonly prices?: PriceTable,
  ) {}

  /** The result of a job whose request was accepted: completed, or failed with `error`. */
  of(
    job: ResultJob,
    accepted: Pick<AcceptedJob, "request" | "model">,
    state: Partial<JobState>,
    error?: GenerationError,
  ): GenerationResult {
    const { request, model } = accepted;
    // a task that ran costs what it used, whatever happened after it (an archive failure, a cancel)
    const price = this.prices?.priceOf(model.provider, model.id);
    const amount = price && state.usage ? costOf(price, state.usage) : undefined;
    const cost = amount === undefined ? undefined : { amount: formatDecimal(amount), currency: this.prices!.currency };
    // with fallbacks, `model` stays the one asked for, and `servedBy` names the one that ran
    const asked = request.fallbacks ? (resolveModel(request.provider, request.model, request.passthrough)?.id ?? request.model) : model.id;
    const identity = {
      ...job,
      provider: request.provider,
      model: asked,
      servedBy: request.fallbacks ? { provider: model.provider, model: model.id } : undefined,
      metadata: request.metadata,
      tenant: tenantOf(request),
      batch: request.batch,
      cost,
    };
    return buildResult(identity, state, Date.now(), error);
  }

  /**
   * The failed result of a job whose data was refused, and the webhook its data names, when it
   * names a usable one. Nothing here throws on hostile data (null, objects without a usable
   * toString, huge values): only fields that pass their own schema are used.
   */
  refused(job: ResultJob, data: unknown, error: GenerationError): { result: GenerationResult; webhook?: GenerationRequest["webhook"] } {
    const fields: Record<string, unknown> = isRecord(data) ? data : {};
    const webhook = GenerationRequest.shape.webhook.safeParse(fields.webhook);
    const metadata = GenerationRequest.shape.metadata.safeParse(fields.metadata);
    const tenant = GenerationRequest.shape.tenant.safeParse(fields.tenant);
    const model = typeof fields.model === "string" && fields.model.length <= 200 ? fields.model : "";
    const identity = {
      ...job,
      provider: this.provider,
      model,
      metadata: metadata.success ? metadata.data : undefined,
      tenant: tenantOf({ tenant: tenant.success ? tenant.data : undefined }),
    };
    const result = buildResult(identity, {}, Date.now(), error);
    return { result, webhook: webhook.success ? webhook.data : undefined };
  }
}
