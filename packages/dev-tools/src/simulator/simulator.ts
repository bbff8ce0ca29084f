import { pipeline } from "node:stream/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash } from "node:crypto";
import { DEFAULT_SIMULATOR_OPTIONS, SimulatorOptions } from "./simulator-options.js";
import { MEDIA_CONTENT_TYPES, TaskBook } from "./task-book.js";
import { tokenHubError, tokenHubRoute } from "./tokenhub-routes.js";
import type { RouteContext, SimAnswer } from "./sim-route.js";
import { gatewayError, gatewayRoute } from "./gateway-routes.js";
import { wcodeError, wcodeRoute } from "./wcode-routes.js";
import { hostileDownloadOf, serveHostile } from "./hostile-downloads.js";

/** Which provider a path belongs to: the gateway under /gateway, wcode under /wcode, TokenHub at the root. */
type SimProvider = "tokenhub" | "gateway" | "wcode";

function providerOf(path: string): SimProvider {
  if (path.startsWith("/gateway/")) return "gateway";
  if (path.startsWith("/wcode/")) return "wcode";
  return "tokenhub";
}

/** Each provider's own error body for the answers every API shares. */
function errorFor(provider: SimProvider, status: number, code: string, message: string, headers?: Record<string, string>): SimAnswer {
  if (provider === "gateway") return gatewayError(status, code, message, headers);
  if (provider === "wcode") return wcodeError(status, message, headers);
  return tokenHubError(status, code, message, headers);
}

/** What the simulator reports at `GET /__simulator/stats`, for tests that count submissions. */
export interface SimulatorStats {
  /** `answeredAt`: when the answer to the submit was fully handed to the network (absent: it never was). */
  submissions: Array<{ taskId: string; provider: string; model: string; prompt: string; at: number; answeredAt?: number }>;
  queries: number;
  downloads: number;
  /** API calls answered with an injected 429 or 5xx. */
  rejected: number;
  /** API calls answered 429 because they came beyond `ratePerSecond` (also counted in `rejected`). */
  rateLimited: number;
  /** API calls and downloads that took effect and then had their answer cut or their connection reset. */
  broken: number;
  /** Tasks submitted whose end no query has reported yet: what the caller has in flight. */
  open: number;
  /** The most tasks in flight at once since start. */
  maxOpen: number;
}

/**
 * A provider simulator speaking the documented protocols over real HTTP: TokenHub (its guide)
 * at the root, the unified gateway (its document) under `/gateway`, wcode (its chat API and model documents) under
 * `/wcode/api/gpt/v1`,
 * with configurable durations, failures, 429s, 5xx, output sizes and expiring result URLs.
 * Used by the tests, the demo and the benchmarks.
 */
export class ProviderSimulator {
  readonly book = new TaskBook();
  options: SimulatorOptions;
  private server?: Server;
  private baseUrl = "";
  private randomState: number;
  /** Each provider's accepted API calls in the last second, for `ratePerSecond`. */
  private readonly callTimes: Partial<Record<SimProvider, number[]>> = {};

  constructor(options: Partial<SimulatorOptions> = {}) {
    this.options = SimulatorOptions.parse({ ...DEFAULT_SIMULATOR_OPTIONS, ...options });
    this.randomState = seedOf(this.options.seed);
  }

  /**
   * Listens on `port` (0: any free port) of `host` and resolves with the base URL: `publicUrl`
   * when given, else `http://host:port`. Result URLs in answers start with it, so behind a name
   * other than the bound address (`0.0.0.0` in a container, reached as `http://simulator:8089`)
   * they must be given that name, or a worker elsewhere downloads from an address it cannot reach.
   */
  async start(port = 0, host = "127.0.0.1", publicUrl?: string): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, host, resolve));
    const address = this.server.address() as AddressInfo;
    this.baseUrl = publicUrl?.replace(/\/+$/, "") ?? `http://${host}:${address.port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  get url(): string {
    return this.baseUrl;
  }

  stats(): SimulatorStats {
    return { submissions: [...this.book.submissions], ...this.book.counters };
  }

  /** When the last status queries came, ms since the epoch, oldest first (the last 10,000). */
  queryTimes(): number[] {
    return [...this.book.queryTimes];
  }

  configure(patch: Partial<SimulatorOptions>): void {
    this.options = SimulatorOptions.parse({ ...this.options, ...patch });
  }

  /** mulberry32: a small seeded generator, so a run's injected failures can be repeated. */
  private random = (): number => {
    let t = (this.randomState = (this.randomState + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? "/", this.baseUrl);
      if (req.method === "GET" && url.pathname.startsWith("/files/")) return this.serveFile(url.pathname, res);
      if (url.pathname.startsWith("/__simulator/")) return send(res, await this.control(req, url.pathname));
      const created: SimulatorStats["submissions"] = [];
      const answer = await this.api(req, url.pathname, created);
      // a real API's answer time varies; calls sent together do not all come back together
      if (this.options.latencyMs > 0) await new Promise((r) => setTimeout(r, this.options.latencyMs * (0.5 + this.random())));
      // when the answer left: a caller that died before it arrived never got the task id
      if (created.length > 0) res.once("finish", () => created.forEach((s) => (s.answeredAt = Date.now())));
      this.sendOrBreak(res, answer);
    } catch (err) {
      send(res, {
        status: 500,
        body: { error: { message: (err as Error).message, type: "engine_server_error", code: "engine_server_error" } },
      });
    }
  }

  /** Answers one API call; the submissions it made are pushed onto `created`. */
  private async api(req: IncomingMessage, path: string, created: SimulatorStats["submissions"]): Promise<SimAnswer> {
    const provider = providerOf(path);
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!auth || (this.options.apiKey !== undefined && auth !== this.options.apiKey))
      return errorFor(provider, 401, "authentication_error", this.refusedKeyMessage(provider, auth));
    const limited = this.overRate(provider);
    if (limited) return limited;
    const injected = this.injectedFailure(provider);
    if (injected) return injected;
    const method = req.method ?? "GET";
    const body = method === "GET" ? {} : await readJson(req);
    if (!body) return errorFor(provider, 400, "invalid_request_error", "请求参数有误: body is not a JSON object");
    const fault = method === "POST" && !path.endsWith("/query") ? this.modelFault(provider, body.model) : undefined;
    if (fault) return fault;
    const ctx: RouteContext = { book: this.book, options: this.options, random: this.random, base: this.baseUrl, key: auth };
    const before = this.book.submissions.length;
    const answer =
      provider === "gateway"
        ? gatewayRoute(method, path, body, ctx)
        : provider === "wcode"
          ? wcodeRoute(method, path, body, ctx)
          : method === "POST"
            ? tokenHubRoute(path, body, ctx)
            : undefined;
    // routes are synchronous: whatever was submitted since `before` is this call's
    created.push(...this.book.submissions.slice(before));
    return answer ?? errorFor(provider, 404, "invalid_request_error", `no route for ${method} ${path}`);
  }

  /** A 401's message: the provider's own words, or one quoting the key (`echoKey`). */
  private refusedKeyMessage(provider: SimProvider, key: string | undefined): string {
    const { echoKey } = this.options;
    if (echoKey === "no" || !key) return provider === "wcode" ? "Invalid API-KEY" : "API Key 无效";
    const shown = echoKey === "whole" ? key : `${key.slice(0, 8)}${"*".repeat(Math.max(3, key.length - 12))}${key.slice(-4)}`;
    return `Incorrect API key provided: ${shown}. You can find your API key in your account settings.`;
  }

  /** The refusal `modelFaults` sets for a submit of `model`, if any; the call then has no effect at all. */
  private modelFault(provider: SimProvider, model: unknown): SimAnswer | undefined {
    const fault = typeof model === "string" ? this.options.modelFaults[model.toLowerCase()] : undefined;
    if (!fault) return undefined;
    this.book.counters.rejected++;
    if (fault === "unavailable") return errorFor(provider, 403, "model_not_available", `模型不存在或未开通: ${String(model)}`);
    if (fault === "busy") return errorFor(provider, 503, "service_unavailable", "服务暂时不可用");
    return errorFor(provider, 500, "engine_server_error", "引擎内部错误");
  }

  /** A 429 for a call beyond the provider's `ratePerSecond` in the last second; calls within it are counted. */
  private overRate(provider: SimProvider): SimAnswer | undefined {
    const { ratePerSecond } = this.options;
    if (ratePerSecond <= 0) return undefined;
    const now = Date.now();
    const times = (this.callTimes[provider] ??= []);
    while (times.length > 0 && times[0]! <= now - 1000) times.shift();
    if (times.length < ratePerSecond) {
      times.push(now);
      return undefined;
    }
    this.book.counters.rejected++;
    this.book.counters.rateLimited++;
    return errorFor(provider, 429, "rate_limit_exceeded", "请求频率超限", { "retry-after": "1" });
  }

  /** A 429 or 5xx drawn at the configured rates; the call then has no effect at all. */
  private injectedFailure(provider: SimProvider): SimAnswer | undefined {
    const { rateLimitRate, serverErrorRate, retryAfterSeconds } = this.options;
    const draw = this.random();
    if (draw < rateLimitRate) {
      this.book.counters.rejected++;
      return errorFor(provider, 429, "rate_limit_exceeded", "请求频率超限", { "retry-after": String(retryAfterSeconds) });
    }
    if (draw < rateLimitRate + serverErrorRate) {
      this.book.counters.rejected++;
      return draw < rateLimitRate + serverErrorRate / 2
        ? errorFor(provider, 500, "engine_server_error", "引擎内部错误")
        : errorFor(provider, 503, "service_unavailable", "服务暂时不可用");
    }
    return undefined;
  }

  /**
   * Sends the answer, or (at the configured rates, after the call took effect) resets the
   * connection or cuts a 2xx JSON body in half: the outcomes a caller cannot read.
   */
  private sendOrBreak(res: ServerResponse, answer: SimAnswer): void {
    const { resetRate, truncateRate } = this.options;
    if (resetRate + truncateRate === 0 || answer.status >= 300) return send(res, answer);
    const draw = this.random();
    if (draw < resetRate) {
      this.book.counters.broken++;
      res.socket?.destroy();
      return;
    }
    if (draw < resetRate + truncateRate && typeof answer.body !== "string") {
      this.book.counters.broken++;
      const text = JSON.stringify(answer.body);
      return send(res, {
        ...answer,
        body: text.slice(0, Math.floor(text.length / 2)),
        headers: { ...answer.headers, "content-type": "application/json" },
      });
    }
    send(res, answer);
  }

  private serveFile(path: string, res: ServerResponse): void {
    const match = /^\/files\/([^/]+)\/(\d+)\.[a-z0-9]+$/.exec(path);
    const task = match ? this.book.tasks.get(match[1]!) : undefined;
    const file = task?.files[Number(match?.[2])];
    const content = task && file ? this.book.sourceOf(task.id, file.index) : undefined;
    if (!task || !file || !content || Date.now() < task.doneAt || task.fails)
      return send(res, { status: 404, body: "<Error><Code>NoSuchKey</Code></Error>" });
    if (this.book.isExpired(task))
      return send(res, { status: 403, body: "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>" });
    this.book.counters.downloads++;
    const hostile = hostileDownloadOf(task.prompt);
    if (hostile) return serveHostile(hostile, res, path, MEDIA_CONTENT_TYPES[file.format]);
    const length = Buffer.isBuffer(content) ? content.length : content.bytes;
    res.writeHead(200, { "content-type": MEDIA_CONTENT_TYPES[file.format], "content-length": String(length) });
    if (this.options.resetRate > 0 && this.random() < this.options.resetRate) {
      // the first bytes (half of a held file, the first chunk of a streamed one), then a reset:
      // the download must be retried, and never archived cut short
      this.book.counters.broken++;
      const first = Buffer.isBuffer(content)
        ? content.subarray(0, Math.floor(content.length / 2))
        : (content.chunks().next() as IteratorYieldResult<Buffer>).value;
      res.write(first, () => res.socket?.destroy());
      return;
    }
    if (Buffer.isBuffer(content)) return void res.end(content);
    // generated as the client reads: a slow reader holds up the generator, not the simulator's memory
    pipeline(content.open(), res).catch(() => undefined);
  }

  private async control(req: IncomingMessage, path: string): Promise<SimAnswer> {
    if (path === "/__simulator/stats") return { status: 200, body: this.stats() };
    // cheap enough to poll every few milliseconds, unlike the full stats
    if (path === "/__simulator/count") return { status: 200, body: { submissions: this.book.submissions.length } };
    if (path === "/__simulator/config" && req.method === "POST") {
      this.configure((await readJson(req)) ?? {});
      return { status: 200, body: this.options };
    }
    // TokenHub's ids are digits; the gateway's and wcode's are not
    const id = /^\/__simulator\/tasks\/([^/]+)$/.exec(path)?.[1];
    const task = id ? this.book.tasks.get(decodeURIComponent(id)) : undefined;
    if (task) return { status: 200, body: { ...task, status: this.book.statusOf(task).status } };
    return { status: 404, body: { error: `no such simulator resource ${path}` } };
  }
}

function seedOf(seed: string): number {
  return createHash("sha256").update(seed).digest().readUInt32LE(0);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, answer: SimAnswer): void {
  const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
  const type = typeof answer.body === "string" ? "application/xml" : "application/json";
  res.writeHead(answer.status, { "content-type": type, ...answer.headers });
  res.end(text);
}
