import type { AuthOptions } from "./bearer-auth.js";
import type { ReadinessCheck } from "./readiness.js";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { RedisConnection } from "../queue/redis.js";
import type { Logger } from "pino";
import type { GenerationClient } from "../producers/generation-client.js";
import { HttpError, apiError } from "./api-error.js";
import type { BatchReader } from "./batch-reader.js";
import type { BatchWriter } from "./batch-routes.js";
import type { PriceTable } from "../billing/price-table.js";
import { registerBatchRoutes } from "./batch-routes.js";
import { ADMIN_BASE_PATH, registerAdminDashboard, type AdminDashboardOptions } from "./admin-dashboard.js";
import type { SecretScrubber } from "../util/secret-scrubber.js";
import { errorReply } from "./error-reply.js";
import { registerGenerationRoutes } from "./generation-routes.js";
import { registerListRoutes } from "./list-routes.js";
import { registerRetryRoute } from "./retry-route.js";
import { registerTenantRoutes } from "./tenant-routes.js";
import { registerWebhookKeyRoutes, WEBHOOK_PUBLIC_KEYS_PATH } from "./webhook-key-routes.js";
import type { TenantPeriodUsage } from "../billing/tenant-budget.js";
import { registerOutputRoutes } from "./output-routes.js";
import type { ArchiveStore } from "../storage/archive-store.js";
import { outputPresigner } from "../storage/output-presigner.js";
import { linkedGenerationOf, registerOutputLinks } from "./output-links.js";
import { registerHealthRoutes } from "./health-routes.js";
import type { KilnMetrics } from "./kiln-metrics.js";
import { openApiDocument, schemaErrorMessage, type RegisteredRoute } from "./openapi.js";
import { kilnVersion } from "../util/kiln-version.js";
import { attachRouteSchema } from "./route-schemas.js";
import { registerEventRoutes } from "./event-routes.js";
import type { WaitSettings } from "./prefer-wait.js";

export interface KilnHttpServerOptions {
  /** Reads and enqueues generations (`/v1/generations`). */
  client: GenerationClient;
  /** The archive, for `GET /v1/generations/{id}/outputs/{index}`. @defaultValue none: the route is not served */
  store?: ArchiveStore;
  /** How long a presigned output URL lasts, ms (`KILN_OUTPUT_URL_TTL`). @defaultValue 1 h */
  outputUrlTtlMs?: number;
  /**
   * `presigned` (`KILN_OUTPUT_URLS`): generation answers give every output an `href` and
   * `expiresAt`; needs a `store` that presigns (S3). @defaultValue "off"
   */
  outputUrls?: "off" | "presigned";
  /** The connection readiness pings, and by whose state errors become 503s (the client's). */
  redis: RedisConnection;
  /** Served at `/metrics`. */
  metrics: KilnMetrics;
  log: Logger;
  /** `KILN_API_TOKEN`, the bearer token of write endpoints. @defaultValue undefined: every write answers 503 */
  apiToken?: string;
  /** `KILN_READ_TOKEN`: reads only. @defaultValue undefined: reads need `apiToken` */
  readToken?: string;
  /** `KILN_PUBLIC_READS`: reads need no token. @defaultValue false */
  publicReads?: boolean;
  /** `KILN_API_TOKENS`: token → tenant, each confined to its tenant's jobs and batches. @defaultValue none */
  tenantTokens?: ReadonlyMap<string, string>;
  /** Serves `GET /v1/tenants/{id}/usage` (`TenantBudget.usage`). @defaultValue undefined: no such route */
  tenantUsage?: (tenant: string) => Promise<TenantPeriodUsage[]>;
  /** Serves `GET /v1/batches/{id}`. @defaultValue undefined: every batch is 404 */
  batches?: BatchReader;
  /** Serves `POST /v1/batches`. @defaultValue undefined: no such route */
  batchWriter?: BatchWriter;
  /** The operator's prices (KILN_PRICES), for `POST /v1/batches` with a `budget`. @defaultValue none: budgets are refused */
  prices?: PriceTable;
  /** Inside `kiln worker`: readiness also needs this to return true. @defaultValue undefined: readiness is Redis only */
  workersRunning?: () => boolean;
  /** Inside `kiln worker`: the archive probe, for `/readyz`. */
  archiveReady?: () => Promise<ReadinessCheck>;
  /** How long readiness waits for Redis to answer PING, ms (100 to 60000). @defaultValue 2000 */
  readinessTimeoutMs?: number;
  /** Largest request body, bytes (1 KiB to 64 MiB). Job data lives in Redis, so keep it small. @defaultValue 1048576 */
  bodyLimit?: number;
  /** A request still unanswered after this long gets a 503, ms (100 to 300000). @defaultValue 10000 */
  requestTimeoutMs?: number;
  /**
   * How often a `Prefer: wait` request and an event stream read their job or batch again, ms
   * (50 to 10000): each read is two short commands on the server's connection. @defaultValue 500
   */
  eventIntervalMs?: number;
  /** An event stream's `: ping` comment comes this often, ms (100 to 300000). @defaultValue 15000 */
  eventHeartbeatMs?: number;
  /** `info.version` of `/openapi.json`. @defaultValue kiln's package version */
  version?: string;
  /** bull-board at `/admin/queues` (`KILN_ADMIN_TOKEN`). @defaultValue undefined: no dashboard (404) */
  admin?: AdminDashboardOptions;
  /**
   * `whpk_` public keys of `KILN_WEBHOOK_SIGNING_KEYS`, newest first, served at
   * `GET /v1/webhooks/public-keys`. @defaultValue none: the route lists no key
   */
  webhookPublicKeys?: readonly string[];
  /**
   * The configured secrets (`secretScrubberOf(env)`), replaced in every answer's body: a result
   * stored before kiln scrubbed provider text, or any text that reached an answer another way,
   * still shows none. @defaultValue none
   */
  secrets?: SecretScrubber;
}

/** Paths scraped or probed every few seconds: request logs for them would drown the rest. */
const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/** kiln's HTTP API (fastify): job status and enqueue, batches, health, readiness and metrics. */
export class KilnHttpServer {
  readonly app: FastifyInstance;

  constructor(options: KilnHttpServerOptions) {
    const readinessTimeoutMs = inRange(options.readinessTimeoutMs ?? 2000, 100, 60_000, "readinessTimeoutMs");
    const bodyLimit = inRange(options.bodyLimit ?? 1024 * 1024, 1024, 64 * 1024 * 1024, "bodyLimit");
    const requestTimeoutMs = inRange(options.requestTimeoutMs ?? 10_000, 100, 300_000, "requestTimeoutMs");
    const eventIntervalMs = inRange(options.eventIntervalMs ?? 500, 50, 10_000, "eventIntervalMs");
    const eventHeartbeatMs = inRange(options.eventHeartbeatMs ?? 15_000, 100, 300_000, "eventHeartbeatMs");
    this.app = Fastify({
      // typed as fastify's base logger so routes keep the default instance type (tsc needs the
      // assertion; typescript-eslint, resolving pino's types its own way, thinks it changes nothing)
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
      loggerInstance: options.log.child({ component: "http" }) as FastifyBaseLogger,
      logController: new LogController({ disableRequestLogging: (request) => QUIET_PATHS.has(request.url.split("?")[0] ?? "") }),
      bodyLimit,
      // BullMQ waits for a lost connection to come back; the caller should hear 503 instead
      handlerTimeout: requestTimeoutMs,
      // job ids run to 256 characters, more once percent-encoded
      routerOptions: { maxParamLength: 1024 },
      return503OnClosing: true,
      // the schemas check, they do not repair: an unknown field is refused (not dropped), a number is not a string
      // allowUnionTypes: a field may be `["number", "null"]` (a batch's budget); strict mode would print a non-JSON warning into the log
      ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, verbose: true, allowUnionTypes: true } },
      schemaErrorFormatter: schemaErrorMessage,
    });
    // every route gets its params/query/body schema from route-schemas.ts as it is registered
    const routes: RegisteredRoute[] = [];
    this.app.addHook("onRoute", (route) => {
      attachRouteSchema(route);
      // the dashboard's own routes are bull-board's, not part of kiln's API document
      if (route.url.startsWith(ADMIN_BASE_PATH)) return;
      for (const method of [route.method].flat()) routes.push({ method: String(method), url: route.url });
    });
    // the API speaks JSON only: any other body is a 415, not a string that fails validation later
    this.app.removeContentTypeParser("text/plain");
    this.app.setErrorHandler((err, request, reply) => {
      const answer = errorReply(err, options.redis);
      if (answer.status >= 500) request.log.error({ err }, "request failed");
      return reply.code(answer.status).headers(answer.headers).send(answer.body);
    });
    // after auth and body checks (401 and 400 stay truthful), and before BullMQ, whose calls wait for a connection
    this.app.addHook("preHandler", async (request) => {
      const url = request.routeOptions.url;
      if (url?.startsWith("/v1/") && url !== WEBHOOK_PUBLIC_KEYS_PATH) requireRedis(options.redis);
    });
    this.app.setNotFoundHandler((request, reply) =>
      reply.code(404).send(apiError("not_found", `no route ${request.method} ${request.url.split("?")[0]}`)),
    );
    if (options.secrets && !options.secrets.empty) scrubAnswers(this.app, options.secrets);
    registerHealthRoutes(this.app, {
      redis: options.redis,
      workersRunning: options.workersRunning,
      archiveReady: options.archiveReady,
      readinessTimeoutMs,
    });
    const auth: AuthOptions = {
      readToken: options.readToken,
      apiToken: options.apiToken,
      publicReads: options.publicReads ?? false,
      tenantTokens: options.tenantTokens,
    };
    // waits and event streams end when the server closes, so that closing does not wait for them
    const closing = new AbortController();
    this.app.addHook("preClose", async () => closing.abort());
    const waiting: WaitSettings = { intervalMs: eventIntervalMs, requestTimeoutMs, closing: closing.signal };
    registerGenerationRoutes(this.app, { client: options.client, auth, waiting });
    registerListRoutes(this.app, { client: options.client, auth });
    registerRetryRoute(this.app, { client: options.client, auth });
    registerWebhookKeyRoutes(this.app, { publicKeys: options.webhookPublicKeys ?? [] });
    if (options.tenantUsage) registerTenantRoutes(this.app, { auth, usage: options.tenantUsage });
    const presign = options.store ? outputPresigner(options.store, options.outputUrlTtlMs) : undefined;
    if (options.store) registerOutputRoutes(this.app, { client: options.client, store: options.store, auth, presign });
    if (options.outputUrls === "presigned") {
      if (!presign) throw new RangeError("outputUrls: presigned needs a store that presigns (S3)");
      // after scrubAnswers: an href carries the S3 key id, a configured secret, which must reach the caller intact
      registerOutputLinks(this.app, presign);
    }
    registerBatchRoutes(this.app, {
      reader: options.batches,
      writer: options.batchWriter,
      prices: options.prices,
      auth,
      waiting,
    });
    const scrub = options.secrets && !options.secrets.empty ? options.secrets.forJson() : undefined;
    registerEventRoutes(this.app, {
      client: options.client,
      batches: options.batches,
      auth,
      waiting,
      heartbeatMs: eventHeartbeatMs,
      scrub: scrub && ((json) => scrub.scrub(json)),
      link: options.outputUrls === "presigned" && presign ? linkedGenerationOf(presign) : undefined,
    });
    this.app.get("/metrics", async (_request, reply) => {
      void reply.type(options.metrics.registry.contentType);
      return options.metrics.text();
    });
    if (options.admin) registerAdminDashboard(this.app, options.admin);
    let openApi: unknown;
    this.app.get("/openapi.json", async () => (openApi ??= openApiDocument(routes, options.version ?? kilnVersion())));
  }

  /** Starts listening; resolves with the base URL. Port 0 picks a free port. */
  async listen(port: number, host = "0.0.0.0"): Promise<string> {
    await this.app.listen({ port, host });
    const address = this.app.server.address();
    if (address === null || typeof address === "string") throw new Error("the HTTP server has no TCP address");
    const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
    return `http://${shown.includes(":") ? `[${shown}]` : shown}:${address.port}`;
  }

  /** Stops accepting connections and waits for the requests in progress. */
  async close(): Promise<void> {
    await this.app.close();
  }
}

/** Every text body (JSON, the metrics text) has the secrets replaced; files and streams go as they are. */
function scrubAnswers(app: FastifyInstance, secrets: SecretScrubber): void {
  const bodies = secrets.forJson();
  app.addHook("onSend", async (_request, _reply, payload) => (typeof payload === "string" ? bodies.scrub(payload) : payload));
}

function requireRedis(redis: RedisConnection): void {
  if (redis.status !== "ready")
    throw new HttpError(503, "unavailable", `Redis is not reachable (connection ${redis.status}); try again later`);
}

function inRange(value: number, min: number, max: number, name: string): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`${name}: must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}
