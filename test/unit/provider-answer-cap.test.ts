import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callJson } from "../../src/providers/http-json.js";
import { loadEnvironment } from "../../src/config/index.js";
import { configuredProviders } from "../../src/providers/configured-providers.js";
import { findModel } from "../../src/providers/model-registry.js";
import { createLogger } from "../../src/logger.js";

const MiB = 1024 ** 2;
/** A JSON string's content in 64 KiB pieces: valid JSON however long, so only a cap can refuse it. */
const PIECE = Buffer.from("x".repeat(64 * 1024));
const TOTAL = 32 * MiB;

/** Streams a 32 MiB JSON answer as fast as the reader takes it, counting what it sent before the reader hung up. */
function streamBig(res: ServerResponse, sent: { bytes: number; closed: boolean }, announce: boolean, status = 200): void {
  const head = '{"pad":"';
  const tail = '"}';
  const pieces = Math.floor((TOTAL - head.length - tail.length) / PIECE.length);
  const length = head.length + pieces * PIECE.length + tail.length;
  res.writeHead(status, { "content-type": "application/json", ...(announce ? { "content-length": String(length) } : {}) });
  res.on("close", () => (sent.closed = true));
  res.write(head);
  sent.bytes = head.length;
  let left = pieces;
  const more = () => {
    while (left > 0 && !sent.closed) {
      left--;
      sent.bytes += PIECE.length;
      if (!res.write(PIECE)) return void res.once("drain", more);
    }
    if (!sent.closed) res.end(tail);
  };
  more();
}

describe("a provider's API answer is capped while it is read", () => {
  let server: Server;
  let base = "";
  const sent = { bytes: 0, closed: false };
  beforeAll(async () => {
    server = createServer((req, res) => {
      Object.assign(sent, { bytes: 0, closed: false });
      if (req.url === "/big") return streamBig(res, sent, false);
      if (req.url === "/announced") return streamBig(res, sent, true);
      if (req.url === "/big-401") return streamBig(res, sent, false, 401);
      if (req.url?.startsWith("/v1/api/")) return streamBig(res, sent, false);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, pad: "x".repeat(100_000) }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("a 32 MiB answer is a final bad_response once 1 MiB is read, and the rest is never read", async () => {
    const call = callJson({ baseUrls: [base], path: "big", apiKey: "k", maxAnswerBytes: MiB });
    // final: the same call answers as much again, and a submit made again would make another task
    await expect(call).rejects.toMatchObject({
      kind: "bad_response",
      retryable: false,
      status: 200,
      message: expect.stringMatching(/more than 1048576 bytes/),
    });
    await expect.poll(() => sent.closed).toBe(true);
    // what the sockets buffer between the two sides, not the answer
    expect(sent.bytes).toBeLessThan(TOTAL / 2);
  });

  it("an answer announcing more than the cap is refused before its body is read", async () => {
    const call = callJson({ baseUrls: [base], path: "announced", apiKey: "k", maxAnswerBytes: MiB });
    await expect(call).rejects.toMatchObject({
      kind: "bad_response",
      retryable: false,
      message: expect.stringMatching(/KILN_MAX_ANSWER_BYTES/),
    });
    await expect.poll(() => sent.closed).toBe(true);
    expect(sent.bytes).toBeLessThan(TOTAL / 2);
  });

  it("an error answer over the cap keeps its status's meaning (a 401 is still an authentication failure)", async () => {
    const call = callJson({ baseUrls: [base], path: "big-401", apiKey: "k", maxAnswerBytes: MiB });
    await expect(call).rejects.toMatchObject({
      kind: "authentication",
      status: 401,
      message: expect.stringMatching(/more than 1048576 bytes/),
    });
  });

  it("KILN_MAX_ANSWER_BYTES reaches a configured provider's calls (TokenHub's submit)", async () => {
    const env = loadEnvironment({ TOKENHUB_API_KEY: "k", TOKENHUB_BASE_URL: base, KILN_MAX_ANSWER_BYTES: "1MiB" });
    const [tokenhub] = configuredProviders(env, createLogger({ level: "silent" }));
    const submit = tokenhub!.submit(findModel("tokenhub", "hy-image-v3.0")!, { prompt: "a cat" });
    await expect(submit).rejects.toMatchObject({ kind: "bad_response", message: expect.stringMatching(/more than 1048576 bytes/) });
  });

  it("an answer under the cap is read whole (control)", async () => {
    const answer = await callJson({ baseUrls: [base], path: "small", apiKey: "k", maxAnswerBytes: MiB });
    expect(answer.body).toMatchObject({ ok: true });
  });

  it("KILN_MAX_ANSWER_BYTES takes a size with a unit, and refuses one below 64KiB naming the variable", () => {
    expect(loadEnvironment({ KILN_MAX_ANSWER_BYTES: "32MiB" }).KILN_MAX_ANSWER_BYTES).toBe(32 * MiB);
    expect(loadEnvironment({}).KILN_MAX_ANSWER_BYTES).toBeUndefined();
    expect(() => loadEnvironment({ KILN_MAX_ANSWER_BYTES: "1k" })).toThrow(/KILN_MAX_ANSWER_BYTES: expected at least 64KiB/);
  });
});
