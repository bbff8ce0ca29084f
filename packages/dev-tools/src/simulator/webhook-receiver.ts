import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

/** One request the receiver got. */
export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
  payload: { type: string; timestamp: string; data: Record<string, unknown> & { id: string; status: string } };
  /** The signature checked out with the `standardwebhooks` package and the receiver's secret. */
  verified: boolean;
  answeredWith: number;
  at: number;
}

/**
 * A webhook receiver over real HTTP, for the demo and the tests: records every delivery,
 * verifies its Standard Webhooks signature, and answers with `status()` (default 204).
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  status: (delivery: Omit<ReceivedWebhook, "answeredWith">) => number = () => 204;
  url = "";
  private server?: Server;
  private readonly verifier: Webhook;

  constructor(readonly secret: string) {
    this.verifier = new Webhook(secret);
  }

  async start(port = 0, host = "127.0.0.1"): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        const delivery = { headers, body, payload: parsePayload(body), verified: this.verifies(body, headers), at: Date.now() };
        const answeredWith = this.status(delivery);
        this.received.push({ ...delivery, answeredWith });
        res.writeHead(answeredWith).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, host, resolve));
    this.url = `http://${host}:${(this.server.address() as AddressInfo).port}/hooks`;
    return this.url;
  }

  /** Deliveries about job `id`, in arrival order. */
  of(id: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.payload.data?.id === id);
  }

  async waitFor(predicate: (received: ReceivedWebhook[]) => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.received)) {
      if (Date.now() > deadline) throw new Error(`expected webhooks not received within ${timeoutMs} ms (got ${this.received.length})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private verifies(body: string, headers: Record<string, string>): boolean {
    try {
      this.verifier.verify(body, headers);
      return true;
    } catch {
      return false;
    }
  }
}

function parsePayload(body: string): ReceivedWebhook["payload"] {
  try {
    return JSON.parse(body) as ReceivedWebhook["payload"];
  } catch {
    return { type: "unparseable", timestamp: "", data: { id: "", status: "" } };
  }
}
