import { Command, CommanderError } from "commander";
import { isConfigError, tracingConfig } from "../config/index.js";
import { isInvalidRequestError } from "../contract/invalid-request-error.js";
import { isIdConflictError } from "../contract/id-conflict-error.js";
import { isRedisFullError } from "../contract/redis-full-error.js";
import { flushTracing, startTracing } from "../telemetry/tracing.js";
import { kilnVersion } from "../util/kiln-version.js";
import { EXIT, isCliExit } from "./cli-exit.js";

/**
 * Each command's module, loaded only when that command runs: `kiln bulk` under a small heap
 * must not carry the worker's and the HTTP server's modules (about 15 MB of heap together).
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  worker: async () => (await import("./worker-command.js")).workerCommand(),
  server: async () => (await import("./server-command.js")).serverCommand(),
  simulate: async () => (await import("./simulate-command.js")).simulateCommand(),
  enqueue: async () => (await import("./enqueue-command.js")).enqueueCommand(),
  status: async () => (await import("./status-command.js")).statusCommand(),
  cancel: async () => (await import("./cancel-command.js")).cancelCommand(),
  bulk: async () => (await import("./bulk-command.js")).bulkCommand(),
  list: async () => (await import("./list-command.js")).listCommand(),
  batch: async () => (await import("./batch-command.js")).batchCommand(),
  webhooks: async () => (await import("./webhooks-command.js")).webhooksCommand(),
  demo: async () => (await import("./demo-command.js")).demoCommand(),
  retry: async () => (await import("./retry-command.js")).retryCommand(),
  models: async () => (await import("./models-command.js")).modelsCommand(),
  doctor: async () => (await import("./doctor-command.js")).doctorCommand(),
  tenants: async () => (await import("./tenants-command.js")).tenantsCommand(),
};

/** The named command alone; every command for help, a typo or no command at all. */
async function commandsFor(argv: string[]): Promise<Command[]> {
  const name = argv[2];
  const only = name === undefined ? undefined : COMMANDS[name];
  return Promise.all(only ? [only()] : Object.values(COMMANDS).map((load) => load()));
}

async function main(): Promise<void> {
  // tracing first: queues and workers take BullMQ's telemetry option when they are made
  await startTracing(tracingConfig());
  const program = new Command("kiln")
    .description(
      "Durable orchestration of asynchronous AI generation jobs: BullMQ queues, provider polling, S3 archiving, signed webhooks.",
    )
    .version(kilnVersion(), "-V, --version", "print kiln's version")
    .showHelpAfterError();
  for (const command of await commandsFor(process.argv)) program.addCommand(command);
  usageErrorsExit2(program);
  await program.parseAsync(process.argv);
  // a command that ends here sends its spans before the process exits; long-running ones send theirs at shutdown
  await flushTracing();
}

/**
 * Commander exits 1 on a usage error (unknown option or command, missing argument, an option
 * value its parser refuses); kiln's table (docs/cli.md) says 2, and 1 means "the work failed".
 * Every command, nested ones too, throws instead of exiting (main's catch maps the code), and
 * prints its error as `kiln: <message>` like kiln's own.
 */
function usageErrorsExit2(command: Command): void {
  command.exitOverride().configureOutput({
    outputError: (text, write) => write(`kiln: ${text.replace(/^(error|kiln): /, "")}`),
  });
  for (const sub of command.commands) usageErrorsExit2(sub);
}

/** The exit code of what a command threw (see `EXIT`), and whether it was reported already. */
function exitCodeOf(err: unknown): { code: number; reported: boolean } {
  // commander printed its message already; 0 is --help or --version, every other one a usage error
  if (err instanceof CommanderError)
    return { code: err.exitCode === 0 ? EXIT.ok : err.exitCode === 1 ? EXIT.usage : err.exitCode, reported: true };
  if (isCliExit(err)) return { code: err.code, reported: false };
  // configuration and input errors are the user's to fix, as is an id a different request holds
  if (isConfigError(err) || isInvalidRequestError(err)) return { code: EXIT.usage, reported: false };
  if (isIdConflictError(err)) return { code: EXIT.conflict, reported: false };
  if (isRedisFullError(err)) return { code: EXIT.unavailable, reported: false };
  return { code: EXIT.failed, reported: false };
}

main().catch(async (err: unknown) => {
  await flushTracing().catch(() => undefined);
  const { code, reported } = exitCodeOf(err);
  // an unexpected error keeps its stack (a bug to report); the others say what, without one
  if (!reported) console.error(code === EXIT.failed && !isCliExit(err) ? err : `kiln: ${(err as Error).message}`);
  process.exit(code);
});
