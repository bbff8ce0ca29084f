import type { FastifyReply } from "fastify";

/** One Server-Sent Event: `id`, `event` and `data` (sent as one line of JSON). */
export interface SseEvent {
  /** Never holds CR, LF or NUL (the SSE format ends a field there). */
  id: string;
  event: string;
  data: unknown;
}

export interface SseStreamOptions {
  /** A `: ping` comment line this often keeps proxies from closing an idle stream, ms. */
  heartbeatMs: number;
  /** Applied to each event's JSON before it is written (the configured secrets replaced). @defaultValue none */
  scrub?: (json: string) => string;
  /** Applied to an event's scrubbed data last (output links, which carry a configured secret that must stay whole). @defaultValue none */
  link?: (data: unknown) => Promise<unknown>;
  /** Aborted when the server starts closing: the stream ends. */
  closing: AbortSignal;
}

/**
 * A `text/event-stream` answer written by hand on the raw response. fastify is told the reply
 * is taken over (`hijack`), so its handler timeout, serializers and `onSend` hooks leave the
 * stream alone: the frames are a few lines each, simpler to write than to route through a
 * plugin, and the server's secret scrubbing is applied here instead of in `onSend`.
 */
export class SseStream {
  private readonly controller = new AbortController();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly onClosing = () => this.end();

  constructor(
    private readonly reply: FastifyReply,
    private readonly options: SseStreamOptions,
  ) {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      // nginx buffers answers by default, which would hold events back
      "x-accel-buffering": "no",
    });
    raw.flushHeaders();
    raw.on("close", () => this.stop());
    // a socket error ends the stream; unlistened, it would be an uncaught exception
    raw.on("error", () => this.stop());
    this.heartbeat = setInterval(() => raw.write(": ping\n\n"), options.heartbeatMs);
    this.heartbeat.unref();
    options.closing.addEventListener("abort", this.onClosing, { once: true });
    if (options.closing.aborted) this.end();
  }

  /** Aborted once the stream has ended, by either side. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  async send(event: SseEvent): Promise<void> {
    if (this.signal.aborted) return;
    const json = JSON.stringify(event.data);
    const scrubbed = this.options.scrub ? this.options.scrub(json) : json;
    const data = this.options.link ? JSON.stringify(await this.options.link(JSON.parse(scrubbed))) : scrubbed;
    if (this.signal.aborted) return;
    this.reply.raw.write(`id: ${event.id}\nevent: ${event.event}\ndata: ${data}\n\n`);
  }

  /** Ends the stream: the client has everything. */
  end(): void {
    if (!this.reply.raw.writableEnded) this.reply.raw.end();
    this.stop();
  }

  private stop(): void {
    clearInterval(this.heartbeat);
    this.options.closing.removeEventListener("abort", this.onClosing);
    this.controller.abort();
  }
}

/**
 * Answers 204 to a reconnect after the stream's final event: an `EventSource` that meets 204
 * stops reconnecting (the HTML standard's event-stream processing), which a close alone does not do.
 */
export function noMoreEvents(reply: FastifyReply): FastifyReply {
  return reply.code(204).send();
}
