import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { GenerationClient, GenerationStatus } from "../producers/generation-client.js";
import { HttpError } from "./api-error.js";
import { readAuth, type AuthOptions } from "./bearer-auth.js";
import type { BatchReader } from "./batch-reader.js";
import { batchCursorOf, batchEventsFor, type BatchCursor } from "./batch-events.js";
import { cursorOf, generationEventsFor, type GenerationCursor } from "./generation-events.js";
import { providerParam, queueProvider, readStatus } from "./generation-routes.js";
import { mustSee } from "./tenant-scope.js";
import { tenantOfData } from "../contract/tenant.js";
import { toGenerationView } from "./generation-view.js";
import { sleep, type WaitSettings } from "./prefer-wait.js";
import { SseStream, noMoreEvents, type SseEvent } from "./sse-stream.js";

export interface EventRoutesOptions {
  client: GenerationClient;
  /** Reads batches; undefined: every batch is 404. */
  batches: BatchReader | undefined;
  auth: AuthOptions;
  /** How often a stream reads its job or batch again (`intervalMs`), and the server's closing signal. */
  waiting: WaitSettings;
  /** A `: ping` comment this often, ms. */
  heartbeatMs: number;
  /** The configured secrets, replaced in each event's JSON. @defaultValue none */
  scrub?: (json: string) => string;
  /** `KILN_OUTPUT_URLS=presigned`: a generation event's outputs get their links, after the scrub. @defaultValue none */
  link?: (view: unknown) => Promise<unknown>;
}

/**
 * `GET /v1/generations/{id}/events` and `GET /v1/batches/{id}/events`: Server-Sent Events.
 *
 * Events come from reading the job (batch) every `intervalMs` on the server's producer
 * connection, not from BullMQ's events stream: kiln writes a job's step and progress into the
 * job's hash without an events-stream entry, so the stream would only say when to read anyway,
 * at the cost of one blocking connection per queue and partition. A read is two short commands
 * on the shared connection, and a stream's events are a function of what it reads, so event ids
 * name the state they report and `Last-Event-ID` resumes without repeats on any server.
 */
export function registerEventRoutes(app: FastifyInstance, options: EventRoutesOptions): void {
  const { client } = options;
  const stream = (reply: FastifyReply, link?: (data: unknown) => Promise<unknown>) =>
    new SseStream(reply, { heartbeatMs: options.heartbeatMs, scrub: options.scrub, link, closing: options.waiting.closing });

  app.get<{ Params: { id: string }; Querystring: { provider?: unknown } }>(
    "/v1/generations/:id/events",
    { onRequest: readAuth(options.auth) },
    async (request, reply) => {
      const { id } = request.params;
      const status = await readStatus(client, id, providerParam(request.query.provider));
      if (!status) throw new HttpError(404, "not_found", `no generation ${id}`);
      mustSee(request, status.tenant, `no generation ${id}`);
      const cursor = cursorOf(lastEventIdOf(request));
      if (cursor.seen === "ended") return noMoreEvents(reply);
      const provider = queueProvider(status);
      void follow(stream(reply, options.link), request, {
        first: status,
        read: () => client.get(id, provider),
        cursor,
        next: (value: GenerationStatus, at: GenerationCursor) => generationEventsFor(toGenerationView(value), at),
        ended: (at) => at.seen === "ended",
        intervalMs: options.waiting.intervalMs,
      });
      return reply;
    },
  );

  app.get<{ Params: { id: string } }>("/v1/batches/:id/events", { onRequest: readAuth(options.auth) }, async (request, reply) => {
    const { id } = request.params;
    const batches = options.batches;
    const status = batches ? await batches.get(id) : undefined;
    if (!batches || status === undefined) throw new HttpError(404, "not_found", `no batch ${id}`);
    mustSee(request, tenantOfData(status), `no batch ${id}`);
    const cursor = batchCursorOf(lastEventIdOf(request));
    if (cursor.ended) return noMoreEvents(reply);
    void follow(stream(reply), request, {
      first: status,
      read: () => batches.get(id),
      cursor,
      next: (value: unknown, at: BatchCursor) => batchEventsFor(value, at),
      ended: (at) => at.ended,
      intervalMs: options.waiting.intervalMs,
    });
    return reply;
  });
}

/** How one stream turns reads into events. */
interface Following<T, C> {
  first: T;
  /** Undefined: the job (batch) is gone, and the stream ends. */
  read: () => Promise<T | undefined>;
  cursor: C;
  next: (value: T, cursor: C) => { events: SseEvent[]; cursor: C };
  ended: (cursor: C) => boolean;
  intervalMs: number;
}

/**
 * Sends the events of each read until the final one, then ends the stream; stops reading as
 * soon as the client goes away. A failed read ends the stream too (the client reconnects
 * with its `Last-Event-ID` and meets the error as an answer, e.g. 503 while Redis is down).
 */
async function follow<T, C>(stream: SseStream, request: FastifyRequest, f: Following<T, C>): Promise<void> {
  let value: T | undefined = f.first;
  let cursor = f.cursor;
  try {
    while (value !== undefined && !stream.signal.aborted) {
      const step = f.next(value, cursor);
      for (const event of step.events) await stream.send(event);
      cursor = step.cursor;
      if (f.ended(cursor)) break;
      await sleep(f.intervalMs, stream.signal);
      if (stream.signal.aborted) return;
      value = await f.read();
    }
  } catch (err) {
    request.log.warn({ err }, "event stream ended: a read failed");
  } finally {
    stream.end();
  }
}

function lastEventIdOf(request: FastifyRequest): string | undefined {
  const value = request.headers["last-event-id"];
  return Array.isArray(value) ? value[0] : value;
}
