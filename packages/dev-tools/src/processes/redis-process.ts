/**
 * Spawning a private `redis-server` on a free loopback port: `kiln demo` needs
 * one when REDIS_URL is not set, and the tests need Redis instances they can
 * kill and restart. Docker-free on purpose, so it works wherever redis-server
 * is installed.
 *
 * Measured with redis-server 7.0.15: spawn -> first PONG takes about 30-50 ms,
 * stop (SIGTERM -> exit) 5-15 ms.
 */
import { constants as fsConstants } from "node:fs";
import { access, mkdtemp, rm, stat } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { ManagedProcess } from "./managed-process.js";
import { sleep } from "./sleep.js";

/** A running redis-server owned by the caller, who must stop() or kill() it. */
export interface RedisProcessHandle {
  url: string;
  port: number;
  /** Graceful: SIGTERM, then SIGKILL after 2 s; resolves once the process has exited. */
  stop(): Promise<void>;
  /** Abrupt (simulates a crash): SIGKILL; resolves once the process has exited. */
  kill(): Promise<void>;
}

/** Options for startRedisProcess(); all optional, the defaults give a throwaway in-memory Redis. */
export interface RedisProcessOptions {
  /** Port to bind on 127.0.0.1. Default: a free port chosen by the OS. Pass the old port to "restart" a server. */
  port?: number;
  /** Enable AOF persistence (`--appendonly yes`). Default false. */
  appendonly?: boolean;
  /** With AOF: fsync every write (`always`, nothing acknowledged is lost) or once a second (`everysec`, production's usual choice). @defaultValue "always" */
  appendfsync?: "always" | "everysec";
  /**
   * Working directory for AOF/RDB files. Default: a fresh temp directory that is
   * removed on stop()/kill(). To keep data across a restart, pass the same `dir`
   * to both processes (the caller then owns the directory).
   */
  dir?: string;
  /** More redis-server arguments, e.g. `["--cluster-enabled", "yes"]` for a cluster node. */
  extraArgs?: string[];
}

const REDIS_READY_TIMEOUT_MS = 10_000;

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it, we
 * release it). Another process may grab it before the caller binds it, so
 * callers must be ready to retry.
 */
export async function getFreePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("could not determine a free port"));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/**
 * Resolve an executable name against PATH (like `which`), so a missing binary
 * can be reported with install instructions instead of a bare spawn ENOENT.
 * Returns null if not found.
 */
export async function findExecutable(name: string): Promise<string | null> {
  const dirs = (process.env.PATH ?? "").split(path.delimiter).filter((d) => d.length > 0);
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      const st = await stat(candidate);
      if (!st.isFile()) continue;
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here, keep looking
    }
  }
  return null;
}

// A raw PING instead of a Redis client: no dependency, and a listening socket
// is not enough (Redis answers -LOADING while it replays an AOF).
function pingRedis(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = net.createConnection({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8");
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
    socket.once("close", () => done(false));
  });
}

async function waitForRedis(proc: ManagedProcess, port: number): Promise<void> {
  const deadline = Date.now() + REDIS_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    // An early exit (port taken, bad config) would otherwise only surface as a 10 s timeout.
    if (proc.hasExited) {
      throw new Error(
        `redis-server on port ${port} ${proc.describeExit()} before accepting connections.\n` +
          `--- redis-server output ---\n${proc.outputTail}`,
      );
    }
    if (await pingRedis(port)) return;
    await sleep(25);
  }
  await proc.kill();
  throw new Error(
    `redis-server did not accept connections on 127.0.0.1:${port} within ${REDIS_READY_TIMEOUT_MS / 1000} s.\n` +
      `--- redis-server output ---\n${proc.outputTail}`,
  );
}

/**
 * Spawn a dedicated `redis-server` on 127.0.0.1 and wait until it answers PING.
 * Never uses REDIS_URL or Docker: the caller gets a process it alone controls.
 * Throws if redis-server is not on PATH or does not come up.
 */
export async function startRedisProcess(opts: RedisProcessOptions = {}): Promise<RedisProcessHandle> {
  const bin = await findExecutable("redis-server");
  if (bin === null) {
    throw new Error(
      "redis-server was not found on PATH. Install redis-server (e.g. `apt-get install redis-server`) " +
        "or set REDIS_URL=redis://host:port to use a Redis that is already running.",
    );
  }

  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), "kiln-redis-")));
  const cleanup = async () => {
    if (ownDir) await rm(dir, { recursive: true, force: true });
  };

  // A port picked by getFreePort() can be grabbed by someone else before
  // redis binds it; retry a few times with a new port in that case. A port
  // chosen by the caller is not ours to change, so no retry then.
  const attempts = opts.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = opts.port ?? (await getFreePort());
    // Nothing is saved unless asked (`--save ''`), a high hz makes key expiry and
    // blocking timeouts prompt, and noeviction because BullMQ must never lose keys.
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      opts.appendonly ? "yes" : "no",
      ...(opts.appendonly ? ["--appendfsync", opts.appendfsync ?? "always"] : []),
      "--hz",
      "100",
      "--maxmemory-policy",
      "noeviction",
      "--dir",
      dir,
      ...(opts.extraArgs ?? []),
    ];
    const proc = new ManagedProcess(bin, args, { cwd: dir });
    try {
      await waitForRedis(proc, port);
    } catch (err) {
      lastError = err;
      await proc.kill();
      if (/address already in use/i.test(proc.outputTail)) continue;
      break;
    }
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      async stop() {
        await proc.stop();
        await cleanup();
      },
      async kill() {
        await proc.kill();
        await cleanup();
      },
    };
  }
  await cleanup();
  throw lastError;
}
