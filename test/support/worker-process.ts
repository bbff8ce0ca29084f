import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/kiln.js", import.meta.url));

/** `kiln worker` as a real child process (built code), with its output kept for failure messages. */
export class WorkerProcess {
  readonly output: string[] = [];
  private child?: ChildProcess;
  private exited?: Promise<number | null>;

  /** @param wrapper a command that runs the worker, e.g. `["prlimit", "--fsize=1000000", "--"]` to limit its files */
  constructor(
    private readonly env: Record<string, string>,
    private readonly wrapper: string[] = [],
  ) {}

  /** True while the process runs. */
  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<this> {
    const [command, ...args] = [...this.wrapper, process.execPath, BIN, "worker"];
    this.child = spawn(command, args, {
      // info unless the test asks for more (its log is what some tests read)
      env: { PATH: process.env.PATH ?? "", ...this.env, LOG_LEVEL: this.env.LOG_LEVEL === "debug" ? "debug" : "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.exited = new Promise((resolve) => this.child!.once("exit", (code) => resolve(code)));
    this.child.stdout!.on("data", (d: Buffer) => this.output.push(d.toString()));
    this.child.stderr!.on("data", (d: Buffer) => this.output.push(d.toString()));
    try {
      await this.waitForLine(/kiln workers started/, 20_000);
    } catch (err) {
      // a worker that never said it started must not outlive the test that gave up on it
      await this.kill();
      throw err;
    }
    return this;
  }

  /** SIGKILL: no graceful close, no lock release, exactly like a crashed host. */
  async kill(): Promise<void> {
    this.child?.kill("SIGKILL");
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.child?.exitCode !== null || this.child.signalCode) return;
    this.child.kill("SIGTERM");
    await this.exited;
  }

  private async waitForLine(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output.join(""))) {
      if (this.child?.exitCode !== null) throw new Error(`kiln worker exited early:\n${this.output.join("")}`);
      if (Date.now() > deadline) throw new Error(`kiln worker did not start in ${timeoutMs} ms:\n${this.output.join("")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
