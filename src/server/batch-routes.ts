import type { FastifyInstance } from "fastify";
import type { PriceTable } from "../billing/price-table.js";
import type { BatchOptions, BatchEnqueued } from "../producers/batch-options.js";
import { HttpError } from "./api-error.js";
import { bearerAuth, readAuth, type AuthOptions } from "./bearer-auth.js";
import type { BatchReader } from "./batch-reader.js";
import { CreateBatchBody } from "./create-batch-body.js";
import { describeIssues } from "../contract/generation-request.js";
import { answerPreferringWait, waitingHandlerTimeout, type WaitSettings } from "./prefer-wait.js";
import { batchEnded } from "./batch-events.js";
import { isIdConflictError } from "../contract/id-conflict-error.js";
import { mustSee, writeTenant } from "./tenant-scope.js";
import { tenantOfData } from "../contract/tenant.js";

/** Enqueues a batch: the TypeScript client's `enqueueBatch`. */
export interface BatchWriter {
  enqueueBatch(requests: Iterable<unknown>, options: BatchOptions): Promise<BatchEnqueued>;
}

export interface BatchRoutesOptions {
  /** Serves `GET /v1/batches/{id}`; undefined: every batch is 404. */
  reader: BatchReader | undefined;
  /** Serves `POST /v1/batches`; undefined: no such route. */
  writer?: BatchWriter;
  /** The operator's prices (KILN_PRICES), needed by a batch with a `budget`. */
  prices?: PriceTable;
  /** Who may read (`readAuth`) and write (`bearerAuth`). */
  auth: AuthOptions;
  /** How `Prefer: wait` waits (`GET`). */
  waiting: WaitSettings;
}

/** `GET /v1/batches/{id}`, served by the batch producer's reader (404 without one), and `POST /v1/batches`. */
export function registerBatchRoutes(app: FastifyInstance, options: BatchRoutesOptions): void {
  const batches = options.reader;
  app.get<{ Params: { id: string } }>(
    "/v1/batches/:id",
    { onRequest: readAuth(options.auth), handlerTimeout: waitingHandlerTimeout(options.waiting) },
    (request, reply) =>
      answerPreferringWait(request, reply, options.waiting, async (wait) => {
        const { id } = request.params;
        const batch = batches ? await batches.get(id) : undefined;
        if (!batches || batch === undefined)
          throw new HttpError(404, "not_found", batches ? `no batch ${id}` : `no batch ${id}: this server has no batch reader`);
        mustSee(request, tenantOfData(batch), `no batch ${id}`);
        return wait(batch, () => batches.get(id), batchEnded);
      }),
  );
  const writer = options.writer;
  if (!writer) return;
  // 201 with what was enqueued; lines that do not validate are listed by index, as `kiln bulk` reports them by line
  app.post("/v1/batches", { onRequest: bearerAuth(options.auth) }, async (request, reply) => {
    // fastify checked the body against the same schema as JSON Schema; this adds what JSON Schema cannot say (depth)
    const parsed = CreateBatchBody.safeParse(request.body);
    if (!parsed.success) throw new HttpError(400, "invalid_request", describeIssues(parsed.error));
    const body = parsed.data;
    const invalid: Array<{ index: number; message: string }> = [];
    const enqueued = await writer
      .enqueueBatch(body.requests, {
        batchId: body.id,
        webhook: body.webhook,
        budget: body.budget,
        prices: options.prices,
        archivePrefix: body.archive_prefix,
        metadata: body.metadata,
        reuse: body.reuse,
        tenant: writeTenant(request, body.tenant) ?? body.tenant,
        onInvalid: (line, message) => invalid.push({ index: line - 1, message }),
      })
      .catch((err: unknown) => {
        if (isIdConflictError(err)) throw new HttpError(409, "conflict", err.message);
        throw err;
      });
    void reply.code(enqueued.added > 0 ? 201 : 200).header("location", `/v1/batches/${encodeURIComponent(body.id)}`);
    return { ...enqueued, invalidRequests: invalid };
  });
}
