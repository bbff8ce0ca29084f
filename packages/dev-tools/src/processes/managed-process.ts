/**
 * A thin wrapper around `child_process.spawn` for long-running helper servers
 * (redis-server in `kiln demo`, redis-server / moto_server in the tests), whose
 * callers need readiness diagnostics and a reliable way to get rid of them.
 */
import { spawn, type ChildProcess } from "node:child_process";

const STOP_GRACE_MS = 2_000;

// A helper server outliving kiln would keep its port and temp dir busy forever,
// so anything still running when this process exits gets SIGKILLed.
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const c of liveChildren) {
        try {
          c.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
    });
  }
  child.once("exit", () => liveChildren.delete(child));
}

/**
 * A spawned child process that keeps the tail of its output (so a failed start
 * can say why) and is killed automatically if the parent process exits first.
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  private output = "";
  private readonly exited: Promise<void>;
  private spawnError: Error | null = null;

  constructor(
    readonly command: string,
    readonly args: readonly string[],
    options: { cwd?: string } = {},
  ) {
    // No shell: arguments (including empty strings such as `--save ''`) must reach the child verbatim.
    this.child = spawn(command, args, {
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: process.env,
    });
    trackChild(this.child);
    // Always drain the pipes (a full pipe would block the child); only the tail matters for diagnostics.
    const append = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString("utf8")).slice(-8192);
    };
    this.child.stdout?.on("data", append);
    this.child.stderr?.on("data", append);
    // A failed spawn emits "error" instead of "exit"; both must settle waitForExit() or callers hang.
    this.exited = new Promise<void>((resolve) => {
      this.child.once("exit", () => resolve());
      this.child.once("error", (err) => {
        this.spawnError = err;
        resolve();
      });
    });
  }

  /** Whether the process is gone, so readiness polling can fail fast instead of timing out. */
  get hasExited(): boolean {
    return this.spawnError !== null || this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Why the process is gone (exit code/signal/spawn error), for error messages. */
  describeExit(): string {
    if (this.spawnError) return `failed to spawn: ${this.spawnError.message}`;
    if (this.child.signalCode) return `killed by ${this.child.signalCode}`;
    return `exited with code ${this.child.exitCode}`;
  }

  /** Last few KB of combined stdout/stderr, to append to start-up errors. */
  get outputTail(): string {
    return this.output.trim();
  }

  /** Resolves once the process has exited or failed to spawn; never rejects. */
  waitForExit(): Promise<void> {
    return this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs` (a hung server must not block shutdown); resolves once it has exited. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (this.hasExited) return;
    this.child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    });
    const graceExpired = await Promise.race([this.exited.then(() => false), timedOut]);
    clearTimeout(timer);
    if (graceExpired && !this.hasExited) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }

  /** SIGKILL, for simulating crashes or giving up on a failed start; resolves once it has exited. */
  async kill(): Promise<void> {
    if (this.hasExited) return;
    this.child.kill("SIGKILL");
    await this.exited;
  }
}
