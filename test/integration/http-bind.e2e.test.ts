import { createServer, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";
import { kiln } from "../support/kiln-cli.js";
import { WorkerProcess } from "../support/worker-process.js";

/** This machine's first non-loopback IPv4 address: where a server bound to 127.0.0.1 must not answer. */
function outsideAddress(): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
  if (!address) throw new Error("this machine has no non-loopback IPv4 address: the bind test cannot tell interfaces apart here");
  return address;
}

/** The worker's JSON log lines; a line that is not JSON fails the test that reads it. */
function jsonLines(output: string[]): Array<Record<string, unknown>> {
  return output
    .join("")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`a log line that is not JSON: ${line}`);
      }
    });
}

async function answers(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(3_000) }).then(
    (r) => r.ok,
    () => false,
  );
}

describe("the worker's HTTP server: where it binds, what it logs, a busy port", () => {
  const h = new KilnHarness();
  const workers: WorkerProcess[] = [];
  let busy: Server;
  let busyPort = 0;
  beforeAll(async () => {
    await h.start({ archive: "local", workers: false });
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "0.0.0.0", resolve));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    busy?.close();
    await h.close();
  });

  async function worker(env: Record<string, string>): Promise<{ lines: Array<Record<string, unknown>>; port: number }> {
    const w = await new WorkerProcess({ ...h.rawEnv, KILN_HTTP_PORT: "0", ...env }).start();
    workers.push(w);
    const lines = jsonLines(w.output);
    const listening = lines.find((l) => l.msg === "http server listening");
    expect(listening, JSON.stringify(lines)).toBeDefined();
    return { lines, port: Number(new URL(String(listening!.url)).port) };
  }

  it("KILN_HTTP_HOST=127.0.0.1 binds the loopback only, and the log says so; every line it printed is JSON", async () => {
    const { lines, port } = await worker({ KILN_HTTP_HOST: "127.0.0.1" });
    expect(lines.find((l) => l.msg === "http server listening")).toMatchObject({ bind: `127.0.0.1:${port}` });
    expect(await answers(`http://127.0.0.1:${port}/healthz`)).toBe(true);
    expect(await answers(`http://${outsideAddress()}:${port}/healthz`)).toBe(false);
  });

  it("by default it binds every interface, and its log names 0.0.0.0, not the loopback URL alone", async () => {
    const { lines, port } = await worker({});
    expect(lines.find((l) => l.msg === "http server listening")).toMatchObject({ bind: `0.0.0.0:${port}` });
    expect(await answers(`http://${outsideAddress()}:${port}/healthz`)).toBe(true);
  });

  it("a port in use is one kiln: line and exit 2, for kiln worker and kiln server", async () => {
    for (const args of [["worker"], ["server"]]) {
      const run = await kiln(args, { ...h.rawEnv, KILN_HTTP_PORT: String(busyPort) });
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr.trim().split("\n")).toEqual([
        `kiln: cannot listen on 0.0.0.0:${busyPort}: the port is in use (KILN_HTTP_PORT or --port)`,
      ]);
    }
  });
});
