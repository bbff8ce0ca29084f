import type { FastifyInstance } from "fastify";
import { HttpError } from "./api-error.js";
import { readAuth, type ReadAuthOptions } from "./bearer-auth.js";
import type { BatchReader } from "./batch-reader.js";

/** `GET /v1/batches/{id}`, served by the batch producer's reader; 404 without one. */
export function registerBatchRoutes(app: FastifyInstance, batches: BatchReader | undefined, reads: ReadAuthOptions): void {
  app.get<{ Params: { id: string } }>("/v1/batches/:id", { onRequest: readAuth(reads) }, async (request) => {
    const { id } = request.params;
    const batch = batches ? await batches.get(id) : undefined;
    if (batch === undefined)
      throw new HttpError(404, "not_found", batches ? `no batch ${id}` : `no batch ${id}: this server has no batch reader`);
    return batch;
  });
}
