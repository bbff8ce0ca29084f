/**
 * Test infrastructure: a real S3-compatible server for integration tests.
 *
 * Resolution order of `startS3()`:
 *   (a) `S3_ENDPOINT` (+ S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY,
 *       S3_BUCKET, S3_FORCE_PATH_STYLE) from the environment; stop() is a no-op;
 *   (b) Docker via testcontainers (MinIO), only if a container runtime answers;
 *   (c) `moto_server` (Python moto, `pip install "moto[server]"`) from PATH,
 *       spawned on a free loopback port.
 * The bucket is created if it does not exist yet.
 *
 * Measured on the dev machine (moto 5.2.1, Python 3.11 via a pyenv shim):
 * spawn -> first answer to `GET /` plus bucket creation takes about
 * 0.65-0.75 s when measured alone (~1.6 s inside vitest's globalSetup, where it
 * competes for CPU with Redis start-up and module loading); SIGTERM -> exit
 * 0.1-0.15 s. Almost all of it is Python/pyenv start-up and importing moto.
 */
import {
  CreateBucketCommand,
  HeadBucketCommand,
  S3Client,
  S3ServiceException,
  type BucketLocationConstraint,
  type CreateBucketCommandInput,
} from "@aws-sdk/client-s3";
import { ManagedProcess, findExecutable, getFreePort } from "@kiln/dev-tools";
import { dockerAvailable, errorMessage } from "./redis-server.js";

/** Everything a test needs to build an S3Client (provided to tests as `inject("s3")`). */
export interface S3ConnectionInfo {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  forcePathStyle: boolean;
}

export interface S3Handle extends S3ConnectionInfo {
  source: "env" | "docker" | "moto_server";
  /** The S3 server's process id when this process started it (moto_server), for the bench's CPU figures. */
  pid?: number;
  stop(): Promise<void>;
}

const DEFAULT_BUCKET = "kiln-test";
const DEFAULT_REGION = "us-east-1";
const MINIO_IMAGE = "minio/minio:RELEASE.2025-04-22T22-12-26Z";
const MOTO_READY_TIMEOUT_MS = 30_000;
const MOTO_POLL_INTERVAL_MS = 100;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function parseBool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value.trim() === "") return fallback;
  return !/^(0|false|no|off)$/i.test(value.trim());
}

/** Create `info.bucket` unless it already exists (and is ours). */
export async function ensureBucket(info: S3ConnectionInfo): Promise<void> {
  const client = new S3Client({
    endpoint: info.endpoint,
    region: info.region,
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
    forcePathStyle: info.forcePathStyle,
  });
  try {
    try {
      await client.send(new HeadBucketCommand({ Bucket: info.bucket }));
      return; // exists and is reachable
    } catch {
      // NotFound (or no HeadBucket permission): try to create it below.
    }
    const input: CreateBucketCommandInput = { Bucket: info.bucket };
    if (info.region !== "us-east-1") {
      input.CreateBucketConfiguration = { LocationConstraint: info.region as BucketLocationConstraint };
    }
    try {
      await client.send(new CreateBucketCommand(input));
    } catch (err) {
      if (err instanceof S3ServiceException && err.name === "BucketAlreadyOwnedByYou") return;
      throw new Error(`could not create bucket ${info.bucket} at ${info.endpoint}: ${errorMessage(err)}`);
    }
  } finally {
    client.destroy();
  }
}

async function waitForHttp(proc: ManagedProcess, url: string): Promise<void> {
  const deadline = Date.now() + MOTO_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.hasExited) {
      throw new Error(`moto_server ${proc.describeExit()} before answering ${url}.\n--- moto_server output ---\n${proc.outputTail}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer(); // drain the body so the socket is released
      return; // any HTTP answer means the server is up
    } catch {
      // connection refused / timeout: not up yet
    }
    await sleep(MOTO_POLL_INTERVAL_MS);
  }
  throw new Error(
    `moto_server did not answer ${url} within ${MOTO_READY_TIMEOUT_MS / 1000} s.\n` + `--- moto_server output ---\n${proc.outputTail}`,
  );
}

async function startMotoServer(bin: string): Promise<S3Handle> {
  const port = await getFreePort();
  const proc = new ManagedProcess(bin, ["-H", "127.0.0.1", "-p", String(port)]);
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(proc, `${endpoint}/`);
    const info: S3ConnectionInfo = {
      endpoint,
      region: DEFAULT_REGION,
      accessKeyId: "test",
      secretAccessKey: "test",
      bucket: DEFAULT_BUCKET,
      forcePathStyle: true,
    };
    await ensureBucket(info);
    return { ...info, source: "moto_server", pid: proc.child.pid, stop: () => proc.stop() };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

/** Start (or locate) an S3 server for the test run: S3_ENDPOINT, then Docker (MinIO), then moto_server. */
export async function startS3(): Promise<S3Handle> {
  const env = process.env;
  if (env.S3_ENDPOINT) {
    const info: S3ConnectionInfo = {
      endpoint: env.S3_ENDPOINT,
      region: env.S3_REGION || DEFAULT_REGION,
      accessKeyId: env.S3_ACCESS_KEY_ID ?? "",
      secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? "",
      bucket: env.S3_BUCKET || DEFAULT_BUCKET,
      forcePathStyle: parseBool(env.S3_FORCE_PATH_STYLE, true),
    };
    await ensureBucket(info);
    return { ...info, source: "env", stop: async () => {} };
  }

  let dockerError: string | undefined;
  if (await dockerAvailable()) {
    const { MinioContainer } = await import("@testcontainers/minio");
    let container: Awaited<ReturnType<InstanceType<typeof MinioContainer>["start"]>> | undefined;
    try {
      container = await new MinioContainer(MINIO_IMAGE).start();
      const info: S3ConnectionInfo = {
        endpoint: container.getConnectionUrl(),
        region: DEFAULT_REGION,
        accessKeyId: container.getUsername(),
        secretAccessKey: container.getPassword(),
        bucket: DEFAULT_BUCKET,
        forcePathStyle: true,
      };
      await ensureBucket(info);
      const started = container;
      return {
        ...info,
        source: "docker",
        async stop() {
          await started.stop();
        },
      };
    } catch (err) {
      // Docker answered but MinIO did not come up (offline pull, ...): fall back.
      dockerError = errorMessage(err);
      await container?.stop().catch(() => {});
      process.stderr.write(`[kiln tests] Docker MinIO container failed (${dockerError}), falling back to moto_server\n`);
    }
  }

  const moto = await findExecutable("moto_server");
  if (moto !== null) return startMotoServer(moto);

  throw new Error(
    "No S3 server available for tests. Use one of: " +
      "(1) set S3_ENDPOINT (and S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, optionally S3_REGION, S3_BUCKET, S3_FORCE_PATH_STYLE); " +
      "(2) run a Docker engine so testcontainers can start MinIO" +
      (dockerError ? ` (Docker was reachable but MinIO failed: ${dockerError})` : "") +
      '; (3) install moto_server on PATH (pip install "moto[server]").',
  );
}
