import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const BIN = fileURLToPath(new URL("../../bin/kiln.js", import.meta.url));

/**
 * Runs the built `kiln` CLI with only PATH and `env`; resolves with its exit code and output
 * whatever the code. `timeoutMs` kills a command that should have ended (a worker that should
 * have refused to start) with SIGTERM; it then resolves with code null's stand-in, -1.
 */
export async function kiln(
  args: string[],
  env: Record<string, string>,
  options: { timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? "", ...env },
      maxBuffer: 64 * 1024 * 1024,
      timeout: options.timeoutMs ?? 0,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number | null; stdout: string; stderr: string };
    return { code: e.code ?? -1, stdout: e.stdout, stderr: e.stderr };
  }
}
