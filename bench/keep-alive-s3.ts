import { join } from "node:path";
import { ManagedProcess, getFreePort } from "@kiln/dev-tools";
import { ensureBucket, startS3, type S3ConnectionInfo, type S3Handle } from "../test/support/s3-server.js";
import { ROOT } from "./stack.js";

/** The S3 server the lifecycle rows use when it is theirs to choose, as the report names it. */
export const KEEP_ALIVE_S3 = "moto on a keep-alive HTTP/1.1 server (bench/moto_keep_alive.py)";

const READY_TIMEOUT_MS = 30_000;

/**
 * An S3 server that keeps connections open, as S3 and MinIO do: moto served by
 * `bench/moto_keep_alive.py` (moto_server itself closes every connection, so a client would open
 * one per request there and the row would measure TCP connects). `S3_ENDPOINT` in the environment
 * still wins, as for the tests. Python comes from `BENCH_PYTHON`, `python3` by default.
 */
export async function startKeepAliveS3(): Promise<S3Handle & { name: string }> {
  if (process.env.S3_ENDPOINT) return { ...(await startS3()), name: "S3_ENDPOINT of the environment" };
  const port = await getFreePort();
  const server = new ManagedProcess(process.env.BENCH_PYTHON ?? "python3", [
    join(ROOT, "bench/moto_keep_alive.py"),
    "127.0.0.1",
    String(port),
  ]);
  const info: S3ConnectionInfo = {
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    accessKeyId: "bench",
    secretAccessKey: "bench",
    bucket: "kiln-bench",
    forcePathStyle: true,
  };
  try {
    await untilAnswering(server, info.endpoint);
    await ensureBucket(info);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { ...info, source: "moto_server", name: KEEP_ALIVE_S3, pid: server.child.pid, stop: () => server.stop() };
}

async function untilAnswering(server: ManagedProcess, endpoint: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.hasExited) throw new Error(`bench/moto_keep_alive.py ${server.describeExit()}:\n${server.outputTail}`);
    const answered = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(1_000) }).then(
      async (res) => (await res.arrayBuffer(), true),
      () => false,
    );
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`bench/moto_keep_alive.py did not answer ${endpoint} within ${READY_TIMEOUT_MS / 1000} s:\n${server.outputTail}`);
}
