import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderSimulator } from "@kiln/dev-tools";

/** The simulator's `[sim:download=<kind>]` markers: result downloads as a hostile CDN sends them. */
describe("the simulator's hostile downloads", () => {
  const sim = new ProviderSimulator({ durationsMs: { image: 0, video: 0, "3d": 0 } });
  let base = "";
  beforeAll(async () => {
    base = await sim.start();
  });
  afterAll(() => sim.stop());

  const fileOf = (kind: string): string => {
    const task = sim.book.create(
      {
        provider: "tokenhub",
        model: "hy-image-v3.0",
        prompt: `p [sim:download=${kind}]`,
        durationMs: 0,
        files: [{ format: "png", size: 100 }],
      },
      sim.options,
      Math.random,
    );
    return `${base}/files/${task.id}/0.png`;
  };

  /** Status, headers and the bytes that arrive within `ms`, then the connection is dropped. */
  const sample = (url: string, ms: number) =>
    new Promise<{ status: number; headers: Record<string, unknown>; bytes: number }>((resolve, reject) => {
      const req = request(url, (res) => {
        let bytes = 0;
        res.on("data", (chunk: Buffer) => (bytes += chunk.length));
        res.on("error", () => undefined);
        setTimeout(() => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes });
        }, ms);
      });
      req.on("error", reject);
      req.end();
    });

  it("endless: more bytes than any image, with no Content-Length", async () => {
    const got = await sample(fileOf("endless"), 300);
    expect(got.headers["content-length"]).toBeUndefined();
    expect(got.bytes).toBeGreaterThan(1024 * 1024);
  });

  it("trickle: a byte every 100 ms", async () => {
    const got = await sample(fileOf("trickle"), 1_000);
    expect(got.status).toBe(200);
    expect(got.bytes).toBeGreaterThanOrEqual(3);
    expect(got.bytes).toBeLessThanOrEqual(11);
  });

  it("huge: announces 300 GB and sends a kilobyte", async () => {
    const got = await sample(fileOf("huge"), 700);
    expect(Number(got.headers["content-length"])).toBe(300 * 1000 ** 3);
    expect(got.bytes).toBeLessThanOrEqual(1024);
  });

  it("html: an HTML page where an image was promised", async () => {
    const response = await fetch(fileOf("html"));
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await response.text()).toContain("<script>");
  });

  it("redirect-loop: redirects to itself", async () => {
    const url = fileOf("redirect-loop");
    const response = await fetch(url, { redirect: "manual" });
    expect(response.status).toBe(302);
    expect(new URL(response.headers.get("location")!, url).pathname).toBe(new URL(url).pathname);
  });

  it("serves the file as usual without a marker", async () => {
    const task = sim.book.create(
      { provider: "tokenhub", model: "hy-image-v3.0", prompt: "plain", durationMs: 0, files: [{ format: "png", size: 100 }] },
      sim.options,
      Math.random,
    );
    const response = await fetch(`${base}/files/${task.id}/0.png`);
    expect(response.headers.get("content-type")).toBe("image/png");
    expect((await response.arrayBuffer()).byteLength).toBe(task.files[0]!.bytes);
  });
});
