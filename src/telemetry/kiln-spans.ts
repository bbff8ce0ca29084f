import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Attributes, type Span } from "@opentelemetry/api";

/**
 * Attribute names of kiln's own spans. A span carries those it knows: a producer span has no
 * task id yet, a webhook delivery no model.
 */
export const KilnAttribute = {
  provider: "kiln.provider",
  model: "kiln.model",
  /** The provider's task id, once submitted. */
  taskId: "kiln.task_id",
  /** The generation job's id (a webhook delivery's too: the job its event is about). */
  jobId: "kiln.job_id",
  /** Which visit of the job this is: BullMQ's `attemptsStarted`, counting every pick-up including those after a delay. */
  attempt: "kiln.attempt",
  /** How the span's work ended: a step's outcome, a result's status, a delivery's result. */
  outcome: "kiln.outcome",
  /** The step a visit ran: submit, poll, archive, notify. */
  step: "kiln.step",
  /** Status requests made so far (poll spans). */
  polls: "kiln.polls",
  /** The webhook event a delivery carries. */
  event: "kiln.webhook.event",
  /** The delivery's own job id on the `webhooks` queue. */
  deliveryId: "kiln.webhook.delivery_id",
} as const;

/**
 * The API's tracer: a no-op until `startTracing` registers the SDK, so spans cost next to
 * nothing in a process that does not trace.
 */
const tracer = trace.getTracer("kiln");

/**
 * Runs `fn` inside a new active span named `name` (child of the active one, or of `parent`, a
 * W3C `traceparent`, which the active span is then linked from), ends the span when `fn`
 * settles, and marks it as an error when `fn` throws. `fn` may add attributes (the outcome)
 * through the span it is given.
 */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind = SpanKind.INTERNAL,
  parent?: string,
): Promise<T> {
  const active = context.active();
  const parentContext = parent === undefined ? active : propagation.extract(active, { traceparent: parent });
  const activeSpan = trace.getSpanContext(active);
  const linked = activeSpan !== undefined && trace.getSpanContext(parentContext)?.spanId !== activeSpan.spanId;
  const links = linked ? [{ context: activeSpan }] : [];
  return tracer.startActiveSpan(name, { kind, attributes, links }, parentContext, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      markFailed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The active span as a W3C `traceparent`; undefined when there is none (tracing off, or no span). */
export function activeTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/**
 * `inSpan` for a request kiln serves: a server span named `<method> <route>`, whose parent is
 * the caller's span when the request carries a W3C `traceparent` header, so the caller's trace
 * goes on through kiln; without one, a new trace starts.
 */
export function inServerSpan<T>(
  request: { method: string; route: string; headers: Record<string, string | string[] | undefined> },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const caller = propagation.extract(ROOT_CONTEXT, request.headers);
  const attributes = { "http.request.method": request.method, "http.route": request.route };
  return context.with(caller, () => inSpan(`${request.method} ${request.route}`, attributes, fn, SpanKind.SERVER));
}

/**
 * An error thrown out of a span. BullMQ's control-flow errors (DelayedError, RateLimitError)
 * end a visit normally, so they are not errors of the span.
 */
function markFailed(span: Span, err: unknown): void {
  const name = (err as { name?: unknown } | undefined)?.name;
  if (name === "DelayedError" || name === "RateLimitError") return;
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}
