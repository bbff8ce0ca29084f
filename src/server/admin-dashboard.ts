import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { PartitionedQueues } from "../queue/partitioned-queues.js";
import { PROVIDERS } from "../providers/model-registry.js";
import { apiError } from "./api-error.js";
import { tokensEqual } from "./bearer-auth.js";
import { redactDashboard } from "./dashboard-redaction.js";
import { SecretScrubber } from "../util/secret-scrubber.js";

/** Where the dashboard is mounted on kiln's HTTP server. */
export const ADMIN_BASE_PATH = "/admin/queues";

export interface AdminDashboardOptions {
  /** `KILN_ADMIN_TOKEN`: bearer token, or the password of HTTP Basic auth (any user name) so a browser can log in. */
  token: string;
  /** `KILN_ADMIN_WRITE`: retry, clean, promote, remove and add are allowed. @defaultValue false: read-only */
  write?: boolean;
  /** kiln's queues in every partition, on the server's connection (not closed by the dashboard). */
  queues: PartitionedQueues;
  /**
   * The configured secrets (`secretScrubberOf(env)`): never shown, like every job's own
   * `webhook.secret`, in job data, return values, progress or failed reasons.
   * @defaultValue none: only fields named like credentials are blanked
   */
  secrets?: SecretScrubber;
}

/**
 * bull-board on kiln's HTTP server: every kiln queue (each provider's generation queue, webhooks,
 * batches) of every partition, behind the admin token. With partitions, each queue's name is
 * shown after its partition (`p2/generate-tokenhub`). Read-only unless `write` is set: retry,
 * clean and promote act on production work.
 */
export function registerAdminDashboard(app: FastifyInstance, options: AdminDashboardOptions): void {
  const write = options.write ?? false;
  const partitioned = options.queues.count > 1;
  // the typed handles every other part of kiln uses, on the server's connection
  const queues = options.queues
    .all()
    .map((kilnQueues) => [...PROVIDERS.map((provider) => kilnQueues.generation(provider)), kilnQueues.webhooks(), kilnQueues.batches()]);
  // an encapsulated scope: the auth hook guards the dashboard's routes and nothing else
  void app.register(async (scope) => {
    // bull-board (about 5 MB of heap) loads only where a dashboard is configured
    const [{ createBullBoard }, { BullMQAdapter }, { FastifyAdapter }] = await Promise.all([
      import("@bull-board/api"),
      import("@bull-board/api/bullMQAdapter"),
      import("@bull-board/fastify"),
    ]);
    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath(ADMIN_BASE_PATH);
    const secrets = options.secrets ?? new SecretScrubber([]);
    const adapterOf = (queue: (typeof queues)[number][number], i: number) => {
      const adapter = new BullMQAdapter(queue, { readOnlyMode: !write, allowRetries: write, ...(partitioned ? { prefix: `p${i}/` } : {}) });
      redactDashboard(adapter, secrets);
      return adapter;
    };
    createBullBoard({
      queues: queues.flatMap((partition, i) => partition.map((queue) => adapterOf(queue, i))),
      serverAdapter,
      options: { uiConfig: { boardTitle: write ? "kiln" : "kiln (read-only)" } },
    });
    const views = await offlineViews();
    serverAdapter.setViewsPath(views);
    scope.addHook("onClose", async () => rm(views, { recursive: true, force: true }));
    scope.addHook("onRequest", adminAuth(options.token));
    await scope.register(serverAdapter.registerPlugin(), { prefix: ADMIN_BASE_PATH });
  });
}

/**
 * bull-board's page template without its Google Fonts stylesheet, in a directory of its own: the
 * page then asks nothing of a third party (a private network reaches none, and an admin page
 * should not tell one who opens it). The fonts fall back to the system's sans-serif and monospace.
 */
async function offlineViews(): Promise<string> {
  const ui = join(dirname(createRequire(import.meta.url).resolve("@bull-board/ui/package.json")), "dist");
  const template = await readFile(join(ui, "index.ejs"), "utf8");
  const dir = await mkdtemp(join(tmpdir(), "kiln-dashboard-"));
  await writeFile(join(dir, "index.ejs"), template.replace(/<link[^>]*fonts\.googleapis\.com[^>]*>\s*/g, ""));
  return dir;
}

const CHALLENGE = 'Basic realm="kiln admin", charset="UTF-8"';

/**
 * Bearer `<token>`, or Basic with the token as password; anything else is a 401 that makes a
 * browser ask. The hook answers itself: bull-board's routes have an error handler of their own.
 */
function adminAuth(token: string): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  return async (request, reply) => {
    const header = request.headers.authorization ?? "";
    const bearer = /^Bearer[ ]+(\S+)\s*$/i.exec(header)?.[1];
    const basic = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(header)?.[1];
    const given = bearer ?? (basic === undefined ? undefined : passwordOf(Buffer.from(basic, "base64").toString("utf8")));
    if (given !== undefined && tokensEqual(given, token)) return undefined;
    const message =
      given === undefined
        ? "the dashboard needs KILN_ADMIN_TOKEN: as a bearer token, or as the password of HTTP Basic auth"
        : "invalid admin credentials";
    return reply.code(401).header("www-authenticate", CHALLENGE).send(apiError("unauthorized", message));
  };
}

function passwordOf(credentials: string): string | undefined {
  const colon = credentials.indexOf(":");
  return colon < 0 ? undefined : credentials.slice(colon + 1);
}
