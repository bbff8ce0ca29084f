import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIRECTIVES } from "@kiln/dev-tools";
import { createLogger } from "../../src/logger.js";
import { partitionOf, partitionPrefixes } from "../../src/queue/partitions.js";
import { startHttpServer, type RunningHttpServer } from "../../src/server/index.js";
import { API_TOKEN, call, untilRedisConnected } from "../fixtures/http-api-client.js";
import { KilnHarness, cleanPrefix } from "../support/kiln-harness.js";
import { kiln } from "../support/kiln-cli.js";
import { idsCovering } from "../support/partition-ids.js";

const silent = createLogger({ level: "silent" });
const READ_TOKEN = "test-read-token-0123456789abcdef";
const PARTITIONS = 3;

describe("listing generations and batches: GET /v1/generations, GET /v1/batches, kiln list, kiln batch", () => {
  const h = new KilnHarness();
  let http: RunningHttpServer;
  const get = (path: string, token: string | undefined = READ_TOKEN) => call(http.url, "GET", path, { token });
  const cli = (args: string[]) => kiln(args, { REDIS_URL: h.env.REDIS_URL, KILN_PREFIX: h.prefix, KILN_PARTITIONS: String(PARTITIONS) });
  // an hour ago: every job enqueued later without an explicit timestamp is newer than these
  const t0 = Date.now() - 3_600_000;
  const paged = idsCovering("page", PARTITIONS, 4);

  /** Every page of `path` (which has a query string), following nextCursor; between pages, `between` runs. */
  async function allPages(path: string, between: (page: number) => Promise<void> = async () => undefined) {
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const answer = await get(cursor === null ? path : `${path}&cursor=${cursor}`);
      expect(answer.status, answer.text).toBe(200);
      pages.push(answer.body.data.map((item: { id: string }) => item.id));
      cursor = answer.body.nextCursor;
      await between(pages.length);
    } while (cursor !== null);
    return pages;
  }

  beforeAll(async () => {
    await h.start({ workers: false, env: { KILN_API_TOKEN: API_TOKEN, KILN_READ_TOKEN: READ_TOKEN, KILN_PARTITIONS: String(PARTITIONS) } });
    http = await startHttpServer(h.env, silent, { port: 0, host: "127.0.0.1" });
    await untilRedisConnected(http.url);
    // two providers, every partition, and pairs that share an enqueue time (ordered by id)
    for (const [k, id] of paged.entries()) {
      const request = k % 2 === 0 ? h.request("hy-image-lite") : h.chatRequest("wcode", "hunyuan-lite");
      await h.client.enqueue(request, { id, jobOptions: { timestamp: t0 + Math.floor(k / 2) * 1000 } });
    }
  });
  afterAll(async () => {
    await http?.close();
    await h.close();
    for (const prefix of partitionPrefixes(h.prefix, PARTITIONS)) await cleanPrefix(h.env.REDIS_URL, prefix);
  });

  it("pages through every partition and provider newest first, none lost or repeated while jobs are enqueued between pages", async () => {
    expect(new Set(paged.map((id) => partitionOf(id, PARTITIONS))).size).toBe(PARTITIONS);
    const expected = paged
      .map((id, k) => ({ id, t: t0 + Math.floor(k / 2) * 1000 }))
      .sort((a, b) => b.t - a.t || (a.id < b.id ? 1 : -1))
      .map((j) => j.id);
    let added = 0;
    const pages = await allPages("/v1/generations?limit=5", async () => {
      await h.client.enqueue(h.request("hy-image-lite"), { id: `late-${added++}` });
      await h.client.enqueue(h.chatRequest("wcode", "hunyuan-lite"), { id: `late-${added++}` });
    });
    expect(pages.map((p) => p.length)).toEqual([5, 5, 2]);
    expect(pages.flat()).toEqual(expected);
    // the jobs added meanwhile are the newest: a listing from the start shows them first
    const fresh = await get("/v1/generations?limit=6");
    expect(fresh.body.data.map((j: { id: string }) => j.id).sort()).toEqual(Array.from({ length: 6 }, (_, i) => `late-${i}`).sort());
    // each item is what GET /v1/generations/{id} answers
    const first = fresh.body.data[0];
    expect(first).toEqual((await get(`/v1/generations/${first.id}`)).body);
  });

  it("filters by provider, model, state and batch (a batch's children only, not an id that merely looks like one)", async () => {
    await h.client.enqueue(h.request("hy-image-v3.0"), { id: "model-a" });
    await h.client.enqueue(h.request("hy-image-v3.0"), { id: "model-b" });
    await h.client.enqueueBatch(
      ["x", "y", "z"].map((c) => ({ custom_id: c, ...h.request("hy-image-lite") })),
      { batchId: "lb1" },
    );
    await h.client.enqueue(h.request("hy-image-lite"), { id: "lb1.lookalike" });

    const wcode = (await allPages("/v1/generations?provider=wcode&limit=100")).flat();
    expect(wcode.sort()).toEqual([...paged.filter((_, k) => k % 2 === 1), "late-1", "late-3", "late-5"].sort());
    expect((await get("/v1/generations?model=hy-image-v3.0")).body.data.map((j: { id: string }) => j.id)).toEqual(["model-b", "model-a"]);
    const batch = await get("/v1/generations?batch=lb1");
    expect(batch.body.data.map((j: { id: string }) => j.id).sort()).toEqual(["lb1.x", "lb1.y", "lb1.z"]);
    const waiting = await get("/v1/generations?state=waiting&limit=100");
    expect(waiting.body.data).toHaveLength(paged.length + 6 + 2 + 3 + 1);
    expect(new Set(waiting.body.data.map((j: { state: string }) => j.state))).toEqual(new Set(["waiting"]));
    expect((await get("/v1/generations?state=completed,failed")).body).toEqual({ data: [], nextCursor: null });
    const both = await get("/v1/generations?provider=tokenhub&model=hy-image-v3.0&limit=1");
    expect(both.body.data.map((j: { id: string }) => j.id)).toEqual(["model-b"]);
    expect(both.body.nextCursor).toEqual(expect.any(String));
  });

  it("answers 400 naming the field for a bad cursor, limit, state or provider, and 401 without a read token", async () => {
    const junkCursor = Buffer.from(JSON.stringify({ t: "x" })).toString("base64url");
    for (const [query, field] of [
      ["cursor=not*a*cursor", "cursor"],
      [`cursor=${junkCursor}`, "cursor"],
      ["limit=0", "limit"],
      ["limit=101", "limit"],
      ["limit=ten", "limit"],
      ["state=done", "state"],
      ["state=waiting,finished", "state"],
      ["provider=nope", "provider"],
    ]) {
      for (const path of ["/v1/generations", "/v1/batches"]) {
        if (path === "/v1/batches" && field === "provider") continue;
        const answer = await get(`${path}?${query}`);
        expect(answer.status, `${path}?${query}`).toBe(400);
        expect(answer.body.error.code).toBe("invalid_request");
        expect(answer.body.error.message, `${path}?${query}`).toMatch(new RegExp(`^${field}: `));
      }
    }
    const unknown = await get("/v1/generations?colour=red");
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain("colour");
    for (const path of ["/v1/generations", "/v1/batches"]) {
      expect((await call(http.url, "GET", path)).status).toBe(401);
      expect((await get(path, "wrong-token")).status).toBe(401);
      expect((await get(path, API_TOKEN)).status).toBe(200);
    }
  });

  it("lists batches newest first, paged, each as GET /v1/batches/{id} answers it, filtered by state", async () => {
    await h.client.enqueueBatch([{ custom_id: "only", ...h.request("hy-image-lite") }], { batchId: "lb2" });
    expect(await allPages("/v1/batches?limit=1")).toEqual([["lb2"], ["lb1"]]);
    const listed = await get("/v1/batches");
    expect(listed.body.data[1]).toEqual((await get("/v1/batches/lb1")).body);
    expect(listed.body.data[1]).toMatchObject({ id: "lb1", state: "waiting-children", total: 3, counts: { pending: 3 } });
    expect((await get("/v1/batches?state=waiting-children")).body.data.map((b: { id: string }) => b.id)).toEqual(["lb2", "lb1"]);
    expect((await get("/v1/batches?state=completed")).body).toEqual({ data: [], nextCursor: null });
  });

  it("kiln list and kiln batch: a table, --json that JSON.parse reads, exit 2 for a bad flag and 3 for an unknown batch", async () => {
    const table = await cli(["list", "--provider", "wcode", "--limit", "2"]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^id\s+provider\s+state\s+step\s+progress\s+outputs\s+error$/);
    expect(lines.slice(2, 4).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ["late-5", "wcode", "waiting"],
      ["late-3", "wcode", "waiting"],
    ]);
    const more = /^more: kiln list --cursor (\S+)/.exec(lines[4] ?? "");
    expect(more, table.stdout).not.toBeNull();
    const next = await cli(["list", "--provider", "wcode", "--limit", "2", "--cursor", more![1]!, "--json"]);
    expect(next.code, next.stderr).toBe(0);
    const page = JSON.parse(next.stdout);
    expect(page.data.map((j: { id: string }) => j.id)).toEqual(["late-1", paged[11]]);
    expect(page.nextCursor).toEqual(expect.any(String));

    for (const args of [
      ["list", "--limit", "0"],
      ["list", "--state", "done"],
      ["list", "--cursor", "junk!"],
      ["batch", "list", "--limit", "500"],
    ]) {
      const bad = await cli(args);
      expect(bad.code, args.join(" ")).toBe(2);
      expect(bad.stderr.trim()).toMatch(/^kiln: (limit|state|cursor): /);
    }

    const status = await cli(["batch", "status", "lb1", "--json"]);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual((await get("/v1/batches/lb1")).body);
    const human = await cli(["batch", "status", "lb1"]);
    expect(human.stdout).toContain("batch lb1: waiting-children");
    const missing = await cli(["batch", "status", "no-such-batch"]);
    expect(missing.code).toBe(3);
    expect(missing.stderr.trim()).toBe("kiln: no batch no-such-batch");
    const batches = await cli(["batch", "list", "--json"]);
    expect(JSON.parse(batches.stdout).data.map((b: { id: string }) => b.id)).toEqual(["lb2", "lb1"]);
    expect((await cli(["batch", "list"])).stdout).toMatch(
      /^id\s+state\s+total\s+completed\s+failed\s+pending\n[- ]+\nlb2\s+waiting-children\s+1\s/,
    );
  });

  it("filters by the states jobs reach once workers run them: completed, failed, and batches that completed", async () => {
    await h.client.enqueue(h.request("hy-image-lite"), { id: "st-ok" });
    await h.client.enqueue(h.request("hy-image-lite", { prompt: `no ${DIRECTIVES.fail}` }), { id: "st-bad" });
    await h.startWorkers();
    for (const id of ["st-ok", "st-bad"]) await h.client.waitFor(id, { timeoutMs: 60_000 });
    await h.client.waitFor("lb1.x", { timeoutMs: 60_000 });
    const failed = (await allPages("/v1/generations?state=failed&limit=100")).flat();
    expect(failed).toContain("st-bad");
    expect(failed).not.toContain("st-ok");
    const completed = (await allPages("/v1/generations?state=completed&limit=100")).flat();
    expect(completed).toContain("st-ok");
    expect(completed).not.toContain("st-bad");
    const ended = await get("/v1/generations?state=completed,failed&limit=100");
    expect(new Set(ended.body.data.map((j: { state: string }) => j.state))).toEqual(new Set(["completed", "failed"]));
    for (let i = 0; i < 600 && (await h.client.getBatch("lb1"))?.state !== "completed"; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await get("/v1/batches?state=completed")).body.data.map((b: { id: string }) => b.id)).toContain("lb1");
  });
});
