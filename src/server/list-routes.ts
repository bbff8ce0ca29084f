import type { FastifyInstance } from "fastify";
import type { GenerationClient } from "../producers/generation-client.js";
import { readAuth, type AuthOptions } from "./bearer-auth.js";
import { scopedQuery } from "./tenant-scope.js";
import { toGenerationView, type GenerationView } from "./generation-view.js";
import type { ListPage } from "../producers/list-cursor.js";
import type { BatchListQuery, GenerationListQuery } from "../producers/generation-listing.js";
import type { BatchStatus } from "../batches/batch-status.js";

export interface ListRoutesOptions {
  client: GenerationClient;
  auth: AuthOptions;
}

/**
 * `GET /v1/generations` and `GET /v1/batches`: pages of jobs and batches, newest first. The query
 * string's shape is checked by the route's schema; its values (limit's range, states, the cursor)
 * by the client's listing, whose InvalidRequestError is a 400 naming the field.
 */
export function registerListRoutes(app: FastifyInstance, options: ListRoutesOptions): void {
  const { client } = options;
  app.get<{ Querystring: GenerationListQuery }>(
    "/v1/generations",
    { onRequest: readAuth(options.auth) },
    async (request): Promise<ListPage<GenerationView>> => {
      const query = scopedQuery(request, request.query);
      if (!query) return { data: [], nextCursor: null };
      const page = await client.list(query);
      return { data: page.data.map(toGenerationView), nextCursor: page.nextCursor };
    },
  );
  app.get<{ Querystring: BatchListQuery }>(
    "/v1/batches",
    { onRequest: readAuth(options.auth) },
    async (request): Promise<ListPage<BatchStatus>> => {
      const query = scopedQuery(request, request.query);
      return query ? client.listBatches(query) : { data: [], nextCursor: null };
    },
  );
}
