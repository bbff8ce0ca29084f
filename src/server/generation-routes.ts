import type { FastifyInstance, FastifyRequest } from "fastify";
import { tenantOfData } from "../contract/tenant.js";
import type { GenerationClient, GenerationStatus } from "../producers/generation-client.js";
import { isInvalidRequestError } from "../contract/invalid-request-error.js";
import { generateQueueName, providerOfQueue } from "../contract/queue-names.js";
import { PROVIDERS, isProvider } from "../providers/model-registry.js";
import { HttpError } from "./api-error.js";
import { bearerAuth, readAuth, type AuthOptions } from "./bearer-auth.js";
import { mustSee, writeTenant } from "./tenant-scope.js";
import { enqueueGeneration } from "./enqueue-generation.js";
import { toGenerationView, type GenerationView } from "./generation-view.js";
import { inServerSpan } from "../telemetry/kiln-spans.js";
import { answerPreferringWait, waitingHandlerTimeout, type WaitSettings } from "./prefer-wait.js";

export interface GenerationRoutesOptions {
  client: GenerationClient;
  /** Who may read (`readAuth`) and write (`bearerAuth`). */
  auth: AuthOptions;
  /** How `Prefer: wait` waits (`GET` and `POST`). */
  waiting: WaitSettings;
}

/** Where a generation can be read back; ids may hold any character but `:`, so it is encoded. */
function generationPath(id: string): string {
  return `/v1/generations/${encodeURIComponent(id)}`;
}

/** `GET /v1/generations/{id}[?provider=]`, `POST /v1/generations` and `POST /v1/generations/{id}/cancel`. */
export function registerGenerationRoutes(app: FastifyInstance, options: GenerationRoutesOptions): void {
  const { client } = options;

  app.get<{ Params: { id: string }; Querystring: { provider?: unknown } }>(
    "/v1/generations/:id",
    { onRequest: readAuth(options.auth), handlerTimeout: waitingHandlerTimeout(options.waiting) },
    (request, reply) =>
      answerPreferringWait(request, reply, options.waiting, async (wait) => {
        const { id } = request.params;
        const provider = providerParam(request.query.provider);
        const status = await readStatus(client, id, provider);
        const missing = `no generation ${id}${provider ? ` on ${generateQueueName(provider)}` : ""}`;
        if (!status) throw new HttpError(404, "not_found", missing);
        mustSee(request, status.tenant, missing);
        return toGenerationView(await wait(status, () => client.get(id, queueProvider(status)), hasEnded));
      }),
  );

  // a caller's traceparent makes the job part of the caller's trace, down to the webhook it receives
  app.post(
    "/v1/generations",
    { onRequest: bearerAuth(options.auth), handlerTimeout: waitingHandlerTimeout(options.waiting) },
    (request, reply) =>
      inServerSpan({ method: "POST", route: "/v1/generations", headers: request.headers }, (span) =>
        answerPreferringWait(request, reply, options.waiting, async (wait) => {
          const body = withCallerTenant(request, request.body);
          // a bound token learns that an id is taken, not which queue or request holds it
          const outcome = await enqueueGeneration(body, client, { opaqueConflicts: request.caller?.tenant !== undefined });
          const status = await readStatus(client, outcome.id, outcome.provider);
          // 201 for a new job; 200 when the same request was already under this id (an idempotent retry)
          void reply.code(outcome.created ? 201 : 200).header("location", generationPath(outcome.id));
          span.setAttribute("http.response.status_code", reply.statusCode);
          if (!status) return justEnqueued(outcome.id, outcome.provider, tenantOfData(body));
          return toGenerationView(await wait(status, () => client.get(outcome.id, outcome.provider), hasEnded));
        }),
      ),
  );

  // 202: the cancel is recorded; the job ends as failed/cancelled when a worker next sees it
  app.post<{ Params: { id: string }; Querystring: { provider?: unknown }; Body: { reason?: string } | undefined }>(
    "/v1/generations/:id/cancel",
    // the body is optional: none is an empty one, so the schema checks a reason only when one is sent
    { onRequest: bearerAuth(options.auth), preValidation: async (request) => void (request.body ??= {}) },
    async (request, reply) => {
      const { id } = request.params;
      const provider = providerParam(request.query.provider);
      const status = await readStatus(client, id, provider);
      if (!status) throw new HttpError(404, "not_found", `no generation ${id}`);
      mustSee(request, status.tenant, `no generation ${id}`);
      // the reason is the cancelled job's error message (its result, generation.failed)
      const outcome = await client.cancel(id, { provider, reason: request.body?.reason });
      if (!outcome.cancelled) throw new HttpError(409, "conflict", `generation ${id} already ${outcome.state}`);
      void reply.code(202);
      return outcome;
    },
  );
}

export function providerParam(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string" && isProvider(value)) return value;
  throw new HttpError(400, "invalid_request", `provider: expected one of ${PROVIDERS.join(", ")}`);
}

/** A job's final states: the wait of `Prefer: wait` ends there. */
function hasEnded(status: { state: string }): boolean {
  return status.state === "completed" || status.state === "failed";
}

/** The provider whose queue holds a job read back: later reads look only there. */
export function queueProvider(status: GenerationStatus): string | undefined {
  return providerOfQueue(status.queue);
}

/** The body with the tenant the caller writes as (`writeTenant`); a body that is not an object is left to the schema's message. */
function withCallerTenant(request: FastifyRequest, body: unknown): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const tenant = writeTenant(request, (body as { tenant?: unknown }).tenant);
  return tenant === undefined ? body : { ...body, tenant };
}

/** An id that exists in two provider queues (BullMQ-minted ids repeat) cannot be answered without a provider. */
export async function readStatus(
  client: GenerationClient,
  id: string,
  provider: string | undefined,
): Promise<GenerationStatus | undefined> {
  try {
    return await client.get(id, provider);
  } catch (err) {
    if (isInvalidRequestError(err)) throw new HttpError(409, "conflict", `${err.message} (add ?provider=)`);
    throw err;
  }
}

/** The view of a job that was removed between enqueue and read-back (only with very short retention). */
function justEnqueued(id: string, provider: string, tenant: string): GenerationView {
  return { id, provider, queue: generateQueueName(provider), tenant, state: "unknown", outputs: [] };
}
