import type { Context } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace-node";

/**
 * BullMQ's periodic housekeeping: the stalled-job check of every worker, every
 * `KILN_STALLED_INTERVAL`. Each is a trace of its own that belongs to no request.
 */
const HOUSEKEEPING = /^(moveStalledJobsToWait|startStalledCheckTimer) /;

/**
 * Passes every span on to `next` except BullMQ's housekeeping ones: with five workers they
 * would be a trace a second, most of what an idle kiln exports, and none of them tells about a
 * request.
 */
export class HousekeepingSpanFilter implements SpanProcessor {
  constructor(private readonly next: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    this.next.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if (span.instrumentationScope.name === "bullmq" && HOUSEKEEPING.test(span.name)) return;
    this.next.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}
