import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GenerationResult } from "../../src/contract/generation-result.js";
import { createLogger } from "../../src/logger.js";
import { startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { API_TOKEN, untilRedisConnected } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";

const silent = createLogger({ level: "silent" });
const READ_TOKEN = "test-read-token-0123456789abcdef";
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** A completed image job (kiln's workers, the simulator, the archive of `archive`) and an HTTP server in front of it. */
function outputsOver(archive: "local" | "s3") {
  const h = new KilnHarness();
  let http: RunningHttpServer;
  let result: GenerationResult;
  const fetchOutput = (path: string, headers: Record<string, string> = {}, token: string | null = READ_TOKEN) =>
    fetch(`${http.url}${path}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, redirect: "manual" });
  beforeAll(async () => {
    await h.start({ archive, env: { KILN_API_TOKEN: API_TOKEN, KILN_READ_TOKEN: READ_TOKEN, KILN_OUTPUT_URL_TTL: "10m" } });
    http = await startHttpServer(h.env, silent, { port: 0, host: "127.0.0.1" });
    await untilRedisConnected(http.url);
    const id = await h.client.enqueue(h.request("hy-image-v3.0"));
    const status = await h.client.waitFor(id, { timeoutMs: 20_000 });
    expect(status.state).toBe("completed");
    result = status.result!;
  });
  afterAll(async () => {
    await http?.close();
    await h.close();
  });
  return { h, fetchOutput, result: () => result, path: (index = 0) => `/v1/generations/${encodeURIComponent(result.id)}/outputs/${index}` };
}

describe("GET /v1/generations/{id}/outputs/{index}, local archive: the bytes themselves", () => {
  const o = outputsOver("local");

  it("serves the whole output with its archived type and its sha256 as ETag; the same ETag answers 304", async () => {
    const output = o.result().outputs[0]!;
    const answer = await o.fetchOutput(o.path());
    expect(answer.status).toBe(200);
    const bytes = Buffer.from(await answer.arrayBuffer());
    expect(sha256(bytes)).toBe(output.sha256);
    expect(bytes.length).toBe(output.bytes);
    expect(answer.headers.get("content-type")).toBe(output.contentType);
    expect(answer.headers.get("etag")).toBe(`"${output.sha256}"`);
    expect(answer.headers.get("accept-ranges")).toBe("bytes");
    const again = await o.fetchOutput(o.path(), { "if-none-match": `"${output.sha256}"` });
    expect(again.status).toBe(304);
    expect((await again.arrayBuffer()).byteLength).toBe(0);
  });

  it("serves one range (206 with Content-Range), a suffix range, and refuses a range past the end (416)", async () => {
    const output = o.result().outputs[0]!;
    const whole = Buffer.from(await (await o.fetchOutput(o.path())).arrayBuffer());
    const part = await o.fetchOutput(o.path(), { range: "bytes=10-19" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 10-19/${output.bytes}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(whole.subarray(10, 20));
    const tail = await o.fetchOutput(o.path(), { range: "bytes=-7" });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(whole.subarray(whole.length - 7));
    const past = await o.fetchOutput(o.path(), { range: `bytes=${output.bytes}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${output.bytes}`);
    expect(await past.json()).toMatchObject({ error: { code: "range_not_satisfiable" } });
  });

  it("needs the read token; an index the result lacks and an unknown job are 404s", async () => {
    expect((await o.fetchOutput(o.path(), {}, null)).status).toBe(401);
    const missing = await o.fetchOutput(o.path(5));
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: "not_found", message: expect.stringContaining("no archived output 5") } });
    expect((await o.fetchOutput("/v1/generations/no-such-job/outputs/0")).status).toBe(404);
    expect((await o.fetchOutput(`/v1/generations/${o.result().id}/outputs/first`)).status).toBe(400);
  });
});

describe("GET /v1/generations/{id}/outputs/{index}, S3 archive: a presigned URL", () => {
  const o = outputsOver("s3");

  it("redirects (302) to a presigned GET that a client with no S3 credentials fetches: the archived bytes and type", async () => {
    const output = o.result().outputs[0]!;
    const answer = await o.fetchOutput(o.path());
    expect(answer.status).toBe(302);
    const location = new URL(answer.headers.get("location")!);
    // KILN_OUTPUT_URL_TTL=10m, signed into the URL
    expect(location.searchParams.get("X-Amz-Expires")).toBe("600");
    const object = await fetch(location);
    expect(object.status).toBe(200);
    const bytes = Buffer.from(await object.arrayBuffer());
    expect(sha256(bytes)).toBe(output.sha256);
    expect(object.headers.get("content-type")).toBe(output.contentType);
    // the signature covers the key: another key with the same query is refused
    const forged = new URL(location);
    forged.pathname = forged.pathname.replace(/0\.png$/, "1.png");
    expect((await fetch(forged)).status).toBe(403);
  });
});
