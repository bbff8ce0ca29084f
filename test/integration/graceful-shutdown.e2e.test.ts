import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const PROBE = fileURLToPath(new URL("../fixtures/shutdown-probe.mjs", import.meta.url));

interface Exit {
  code: number | null;
  ms: number;
  output: string;
}

/** Starts the probe, sends `signals` (ms after it is ready), and reports how it ended. */
async function run(env: Record<string, string>, signals: Array<[NodeJS.Signals, number]>): Promise<Exit> {
  const child = spawn(process.execPath, [PROBE], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  while (!output.includes("ready")) await new Promise((r) => setTimeout(r, 10));
  const started = Date.now();
  for (const [signal, afterMs] of signals) setTimeout(() => child.kill(signal), afterMs);
  const code = await exited;
  return { code, ms: Date.now() - started, output };
}

describe("kiln's long-running commands stop within a bound", () => {
  it("SIGTERM with a close that finishes in time: exit 0", async () => {
    const exit = await run({ CLOSE_MS: "200", TIMEOUT_MS: "5000" }, [["SIGTERM", 0]]);
    expect(exit.code).toBe(0);
    expect(exit.ms).toBeLessThan(4000);
  });

  it("SIGTERM with a close that would take longer than the bound: exit 1 at the bound, saying so", async () => {
    const exit = await run({ CLOSE_MS: "60000", TIMEOUT_MS: "800" }, [["SIGTERM", 0]]);
    expect(exit.code).toBe(1);
    expect(exit.ms).toBeGreaterThanOrEqual(800);
    expect(exit.ms).toBeLessThan(10_000);
    expect(exit.output).toContain("shutdown bound reached");
  });

  it("a second signal exits at once (128 + its number), without waiting for the bound", async () => {
    const exit = await run({ CLOSE_MS: "60000", TIMEOUT_MS: "60000" }, [
      ["SIGTERM", 0],
      ["SIGINT", 300],
    ]);
    expect(exit.code).toBe(130);
    expect(exit.ms).toBeLessThan(10_000);
    expect(exit.output).toContain("second SIGINT");
  });

  it("an unhandled rejection is logged and exits 1", async () => {
    const exit = await run({ REJECT: "1" }, []);
    expect(exit.code).toBe(1);
    expect(exit.output).toMatch(/unhandled promise rejection.*nobody handles this|nobody handles this.*unhandled promise rejection/s);
  });
});
