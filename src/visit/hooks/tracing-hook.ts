import { SpanKind, type Attributes, type Span } from "@opentelemetry/api";
import type { JobState } from "../../state/job-state.js";
import { KilnAttribute, activeTraceparent, inSpan } from "../../telemetry/kiln-spans.js";
import type { VisitHook } from "../visit-hook.js";
import type { Visit, VisitJob } from "../visit.js";

/**
 * Traces each visit: a span per step (`kiln.submit`, `kiln.poll`, `kiln.archive`) and one for
 * the end (`kiln.notify`, whose outcome is the result's status), under BullMQ's process span.
 *
 * A job whose producer did not trace carries no trace context, so BullMQ starts a trace per
 * visit. Its first visit's span is then kept in the state, and the spans of later visits hang
 * under it: one trace per request all the same.
 */
export const tracingHook: VisitHook = {
  name: "tracing",

  initialState(job: VisitJob, state: JobState): JobState {
    if (job.traced) return state;
    const trace = activeTraceparent();
    return trace === undefined ? state : { ...state, trace };
  },

  aroundStep(visit, state, next) {
    const step = async (span: Span) => {
      const outcome = await next();
      span.setAttributes({
        [KilnAttribute.outcome]: outcome.type,
        [KilnAttribute.polls]: outcome.state.polls,
        ...(outcome.state.taskId === undefined ? {} : { [KilnAttribute.taskId]: outcome.state.taskId }),
      });
      return outcome;
    };
    return inSpan(`kiln.${state.step}`, spanAttributes(visit, state), step, SpanKind.INTERNAL, parentOf(visit.job, state));
  },

  aroundFinish(visit, state, next) {
    const attributes = { ...spanAttributes(visit, state), [KilnAttribute.outcome]: state.result?.status ?? "completed" };
    return inSpan("kiln.notify", attributes, next, SpanKind.INTERNAL, parentOf(visit.job, state));
  },
};

/** Where a visit's spans hang: under the first visit's span for a job that came untraced, else under this visit's. */
function parentOf(job: VisitJob, state: JobState): string | undefined {
  return job.traced ? undefined : state.trace;
}

/** What every span of a visit says about its job. */
function spanAttributes(visit: Visit, state: JobState): Attributes {
  return {
    [KilnAttribute.provider]: visit.accepted.request.provider,
    [KilnAttribute.model]: visit.accepted.model.id,
    [KilnAttribute.jobId]: visit.job.id,
    [KilnAttribute.attempt]: visit.job.attempt,
    [KilnAttribute.step]: state.step,
    ...(state.taskId === undefined ? {} : { [KilnAttribute.taskId]: state.taskId }),
  };
}
