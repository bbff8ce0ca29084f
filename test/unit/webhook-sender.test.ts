import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOutboundDispatcher } from "../../src/net/url-guard.js";
import { WebhookSender } from "../../src/webhooks/webhook-sender.js";
import { WebhookSigner } from "../../src/webhooks/webhook-signer.js";

const SECRET = `whsec_${Buffer.alloc(24, 9).toString("base64")}`;
type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

describe("WebhookSender", () => {
  let server: Server;
  let base = "";
  let handler: Handler = (_req, res) => res.writeHead(204).end();
  const dispatcher = createOutboundDispatcher({ allowPrivate: true });
  const sender = new WebhookSender({ dispatcher, allowPrivate: true, timeoutMs: 300 });
  const strictSender = new WebhookSender({ dispatcher: createOutboundDispatcher({ allowPrivate: false }), allowPrivate: false });
  const signer = new WebhookSigner(SECRET);
  const message = () => ({ messageId: "msg_1", url: `${base}/hooks`, body: '{"type":"generation.completed"}' });

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => handler(req, res, body));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await dispatcher.close();
  });

  it("signs the exact body with Standard Webhooks headers that both standardwebhooks and svix accept", async () => {
    let seen: { headers: Record<string, string>; body: string } | undefined;
    handler = (req, res, body) => {
      seen = { headers: req.headers as Record<string, string>, body };
      res.writeHead(200).end();
    };
    expect(await sender.send(message(), signer, new Date())).toEqual({ result: "delivered", status: 200 });
    const h = seen!.headers;
    expect(h["content-type"]).toBe("application/json");
    expect(h["webhook-id"]).toBe("msg_1");
    expect(() => new Webhook(SECRET).verify(seen!.body, h)).not.toThrow();
    expect(() =>
      new SvixWebhook(SECRET).verify(seen!.body, {
        "svix-id": h["webhook-id"]!,
        "svix-timestamp": h["webhook-timestamp"]!,
        "svix-signature": h["webhook-signature"]!,
      }),
    ).not.toThrow();
  });

  it("a 3xx is a failure and its Location is not followed", async () => {
    const paths: string[] = [];
    handler = (req, res) => {
      paths.push(req.url!);
      if (req.url === "/hooks") res.writeHead(307, { location: `${base}/elsewhere` }).end();
      else res.writeHead(204).end();
    };
    expect(await sender.send(message(), signer)).toMatchObject({
      result: "retry",
      status: 307,
      error: "receiver answered 307 (redirects are not followed)",
    });
    expect(paths).toEqual(["/hooks"]);
  });

  it("410 is gone", async () => {
    handler = (_req, res) => res.writeHead(410).end();
    expect(await sender.send(message(), signer)).toEqual({ result: "gone", status: 410 });
  });

  it.each([429, 502, 503, 504])("%s carries Retry-After", async (status) => {
    handler = (_req, res) => res.writeHead(status, { "retry-after": "7" }).end();
    expect(await sender.send(message(), signer)).toMatchObject({ result: "retry", status, retryAfterMs: 7_000 });
  });

  it("500 ignores Retry-After", async () => {
    handler = (_req, res) => res.writeHead(500, { "retry-after": "7" }).end();
    expect(await sender.send(message(), signer)).toMatchObject({ result: "retry", status: 500, retryAfterMs: undefined });
  });

  it("a receiver slower than the timeout is a failed attempt", async () => {
    handler = (_req, res) => setTimeout(() => res.writeHead(204).end(), 1_000);
    const started = Date.now();
    expect(await sender.send(message(), signer)).toEqual({ result: "retry", error: "no answer within 300 ms" });
    expect(Date.now() - started).toBeLessThan(900);
  });

  it("a receiver that is down is a retryable failure", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await sender.send({ ...message(), url: `http://127.0.0.1:${port}/hooks` }, signer)).toMatchObject({
      result: "retry",
      error: expect.stringContaining("ECONNREFUSED"),
    });
  });

  it("a refused target is `refused`, not retried, and nothing is sent", async () => {
    let hits = 0;
    handler = (_req, res) => {
      hits++;
      res.writeHead(204).end();
    };
    expect(await strictSender.send({ ...message(), url: "http://169.254.169.254/latest/meta-data/" }, signer)).toEqual({
      result: "refused",
      error: "refusing non-public address 169.254.169.254",
    });
    expect(await strictSender.send({ ...message(), url: message().url.replace("127.0.0.1", "localhost") }, signer)).toMatchObject({
      result: "refused",
      error: expect.stringMatching(/^refusing localhost: it resolves to non-public address/),
    });
    expect(hits).toBe(0);
  });
});
