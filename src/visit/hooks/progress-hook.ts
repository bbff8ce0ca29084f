import type { Logger } from "pino";
import type { JobState } from "../../state/job-state.js";
import { generationProgress } from "../../contract/generation-progress.js";
import { tenantOf } from "../../contract/tenant.js";
import type { WebhookNotifier } from "../../webhooks/webhook-notifier.js";
import { progressDue } from "../../webhooks/webhook-notifier.js";
import type { VisitHook } from "../visit-hook.js";
import type { Visit } from "../visit.js";

/**
 * Progress webhooks: `generation.started` when a job is first picked up, and
 * `generation.progress` (when the request subscribed to it) each time it waits for its next
 * poll, at most every 500 ms. Progress is informative: failing to send it never fails the job.
 */
export function progressHook(notifier: Pick<WebhookNotifier, "notifyProgress">, log: Logger): VisitHook {
  return {
    name: "progress",

    async started(visit, state) {
      const { job } = visit;
      await notifier.notifyProgress(
        job.subject,
        visit.accepted.request.webhook,
        "generation.started",
        progressOf(visit, state),
        Date.now(),
      );
    },

    async beforeWait(visit, state) {
      const now = Date.now();
      if (!progressDue(state.lastProgressAt, now)) return;
      try {
        // the poll count is the sequence: a re-run of the same visit adds the same delivery, not another
        const { job, accepted, ctx } = visit;
        const webhook = accepted.request.webhook;
        const sent = await notifier.notifyProgress(job.subject, webhook, "generation.progress", progressOf(visit, state), now, state.polls);
        if (sent) await ctx.persist({ ...state, lastProgressAt: now });
      } catch (err) {
        log.warn({ err, jobId: visit.job.id }, "progress webhook not enqueued");
      }
    },
  };
}

function progressOf(visit: Visit, state: JobState) {
  const { request, model } = visit.accepted;
  return generationProgress(
    { id: visit.job.id, provider: request.provider, model: model.id, metadata: request.metadata, tenant: tenantOf(request) },
    state,
  );
}
