import type { FastifyInstance } from "fastify";
import type { GenerationClient } from "../producers/generation-client.js";
import { isInvalidRequestError } from "../contract/invalid-request-error.js";
import { HttpError } from "./api-error.js";
import { bearerAuth, type AuthOptions } from "./bearer-auth.js";
import { providerParam, readStatus } from "./generation-routes.js";
import { mustSee } from "./tenant-scope.js";

export interface RetryRouteOptions {
  client: GenerationClient;
  /** Who may write: see `bearerAuth`. */
  auth: AuthOptions;
}

/**
 * `POST /v1/generations/{id}/retry[?provider=]`: a failed job runs again under its id, as a new
 * run (`GenerationClient.retry`). 202 with the new run's number; 404 for no such job; 409 for
 * a job that has not failed, a batch's job, or one another retry is moving already.
 */
export function registerRetryRoute(app: FastifyInstance, options: RetryRouteOptions): void {
  app.post<{ Params: { id: string }; Querystring: { provider?: unknown } }>(
    "/v1/generations/:id/retry",
    { onRequest: bearerAuth(options.auth) },
    async (request, reply) => {
      const { id } = request.params;
      const provider = providerParam(request.query.provider);
      // another tenant's job is not there for this caller: looked at before anything is moved
      const status = await readStatus(options.client, id, provider);
      if (!status) throw new HttpError(404, "not_found", `no generation ${id}`);
      mustSee(request, status.tenant, `no generation ${id}`);
      const outcome = await options.client.retry(id, { provider }).catch((err: unknown) => {
        // the id is in two provider queues (BullMQ-minted ids repeat): the caller must name one
        if (isInvalidRequestError(err)) throw new HttpError(409, "conflict", `${err.message} (add ?provider=)`);
        throw err;
      });
      if (!outcome) throw new HttpError(404, "not_found", `no generation ${id}`);
      if (!outcome.retried) throw new HttpError(409, "conflict", outcome.message);
      void reply.code(202);
      return outcome;
    },
  );
}
