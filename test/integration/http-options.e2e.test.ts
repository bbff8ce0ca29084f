import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { startHttpServer, type BatchReader, type RunningHttpServer } from "../../src/server/index.js";
import { call, untilRedisConnected } from "../fixtures/http-api-client.js";
import { KilnHarness } from "../support/kiln-harness.js";

const silent = createLogger({ level: "silent" });

describe("HTTP server options: no API token, and a batch reader", () => {
  const h = new KilnHarness();
  let http: RunningHttpServer;
  const asked: string[] = [];
  const batches: BatchReader = {
    async get(id) {
      asked.push(id);
      return id === "batch-7" ? { id, state: "waiting-children", total: 3 } : undefined;
    },
  };

  beforeAll(async () => {
    await h.start({ workers: false, archive: "local", env: { KILN_PUBLIC_READS: "true" } });
    // KILN_API_TOKEN unset: the harness sets none
    http = await startHttpServer(h.env, silent, { port: 0, host: "127.0.0.1", batches });
    await untilRedisConnected(http.url);
  });
  afterAll(async () => {
    await http?.close();
    await h.close();
  });

  it("refuses every write with 503 when KILN_API_TOKEN is not configured, whatever token is sent", async () => {
    expect(h.env.KILN_API_TOKEN).toBeUndefined();
    for (const token of [undefined, "anything-at-all-0123456789"]) {
      const answer = await call(http.url, "POST", "/v1/generations", { json: { ...h.request("hy-image-lite"), id: "no-token-1" }, token });
      expect(answer.status).toBe(503);
      expect(answer.body.error).toEqual({
        code: "auth_not_configured",
        message: expect.stringContaining("KILN_API_TOKEN is not configured"),
      });
    }
    expect(await h.client.get("no-token-1")).toBeUndefined();
  });

  it("with KILN_PUBLIC_READS=true reads need no token", async () => {
    expect((await call(http.url, "GET", "/v1/generations/nothing-here")).status).toBe(404);
  });

  it("without it, and with no token configured, reads answer 503 saying how to enable them", async () => {
    const closed = await startHttpServer({ ...h.env, KILN_PUBLIC_READS: false }, silent, { port: 0, host: "127.0.0.1", batches });
    try {
      await untilRedisConnected(closed.url);
      for (const path of ["/v1/generations/nothing-here", "/v1/batches/batch-7"]) {
        const answer = await call(closed.url, "GET", path);
        expect(answer.status).toBe(503);
        expect(answer.body.error).toEqual({
          code: "auth_not_configured",
          message: expect.stringContaining("KILN_READ_TOKEN or KILN_API_TOKEN (or KILN_PUBLIC_READS=true)"),
        });
      }
    } finally {
      await closed.close();
    }
  });

  it("serves GET /v1/batches/{id} from the batch reader, 404 when it knows no such batch", async () => {
    const found = await call(http.url, "GET", "/v1/batches/batch-7");
    expect(found.status).toBe(200);
    expect(found.body).toEqual({ id: "batch-7", state: "waiting-children", total: 3 });
    const missing = await call(http.url, "GET", "/v1/batches/batch-8");
    expect(missing.status).toBe(404);
    expect(missing.body.error).toEqual({ code: "not_found", message: "no batch batch-8" });
    expect(asked).toEqual(["batch-7", "batch-8"]);
  });
});
