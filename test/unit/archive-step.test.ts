import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { initialState, type ArchiveState } from "../../src/state/job-state.js";
import { resolveModel } from "../../src/providers/model-registry.js";
import { LocalArchiveStore } from "../../src/storage/local-archive-store.js";
import { createOutboundDispatcher } from "../../src/net/url-guard.js";
import { archiveStep } from "../../src/visit/steps/archive-step.js";
import { OutputFetcher } from "../../src/storage/output-fetcher.js";
import { outputLimitsFor } from "../../src/storage/output-limits.js";
import type { StepContext } from "../../src/visit/steps/step-context.js";

/** An HTML page, served as what it is. */
const PAGE = "<!doctype html><script>alert(1)</script>";

describe("archiveStep and the model's kind", () => {
  let server: Server;
  let url: string;
  let root: string;
  /** This test's own store folder: what one test archives is not in the next one's. */
  let dir: string;
  const dispatcher = createOutboundDispatcher({ allowPrivate: true });
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "kiln-archive-step-"));
    server = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(PAGE));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/out/0.png`;
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(root, "case-"));
  });
  afterAll(async () => {
    server.close();
    await dispatcher.close();
    await rm(root, { recursive: true, force: true });
  });

  /** The archive step's context for `model`, on a real fetcher and a real local store. */
  function context(provider: string, model: string, passthrough: boolean): StepContext {
    const spec = resolveModel(provider, model, passthrough)!;
    return {
      jobId: `job-${model}`,
      enqueuedAt: Date.now(),
      request: { provider, model, input: {}, passthrough },
      model: spec,
      store: new LocalArchiveStore(dir),
      fetcher: new OutputFetcher({ dispatcher, allowPrivate: true }),
      outputLimits: outputLimitsFor(spec.kind),
      archiveWindowMs: 60_000,
      log: pino({ level: "silent" }),
      persist: async () => undefined,
      pollScale: 1,
      random: () => 0.5,
      now: Date.now,
    } as unknown as StepContext;
  }

  const archiving = (): ArchiveState => ({
    ...initialState(Date.now(), 60_000),
    step: "archive",
    sources: [{ url }],
    providerCompletedAt: Date.now(),
  });

  it("refuses HTML from a known image model as a final bad_response, storing nothing", async () => {
    const outcome = await archiveStep(archiving(), context("tokenhub", "hy-image-v3.0", false));
    expect(outcome).toMatchObject({ type: "fail", error: { code: "bad_response", retryable: false } });
    expect(await readdir(dir)).toEqual([]);
  });

  it("takes a pass-through model's output as it comes: its kind is only kiln's guess", async () => {
    const outcome = await archiveStep(archiving(), context("gateway", "some-new-model", true));
    expect(outcome).toMatchObject({ type: "next", state: { step: "notify", archived: [{ index: 0, bytes: PAGE.length }] } });
  });
});
