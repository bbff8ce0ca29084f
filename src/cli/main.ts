import { Command } from "commander";
import { isConfigError, tracingConfig } from "../config/index.js";
import { isInvalidRequestError } from "../contract/invalid-request-error.js";
import { isIdConflictError } from "../contract/id-conflict-error.js";
import { flushTracing, startTracing } from "../telemetry/tracing.js";
import { kilnVersion } from "../util/kiln-version.js";

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
  await program.parseAsync(process.argv);
  // a command that ends here sends its spans before the process exits; long-running ones send theirs at shutdown
  await flushTracing();
}

main().catch(async (err: unknown) => {
  await flushTracing().catch(() => undefined);
  // configuration and input errors are the user's to fix (2), as is an id a different request holds (4): say what, without a stack trace
  const code = isConfigError(err) || isInvalidRequestError(err) ? 2 : isIdConflictError(err) ? 4 : 1;
  console.error(code === 1 ? err : `kiln: ${(err as Error).message}`);
  process.exit(code);
});
