import { Command } from "commander";
import { isConfigError } from "../config.js";
import { isInvalidRequestError } from "../producers/invalid-request-error.js";
import { bulkCommand } from "./bulk-command.js";
import { cancelCommand } from "./cancel-command.js";
import { demoCommand } from "./demo-command.js";
import { enqueueCommand } from "./enqueue-command.js";
import { simulateCommand } from "./simulate-command.js";
import { serverCommand } from "./server-command.js";
import { statusCommand } from "./status-command.js";
import { webhooksCommand } from "./webhooks-command.js";
import { workerCommand } from "./worker-command.js";

const program = new Command("kiln")
  .description("Durable orchestration of asynchronous AI generation jobs: BullMQ queues, provider polling, S3 archiving, signed webhooks.")
  .showHelpAfterError();

program.addCommand(workerCommand());
program.addCommand(serverCommand());
program.addCommand(simulateCommand());
program.addCommand(enqueueCommand());
program.addCommand(statusCommand());
program.addCommand(cancelCommand());
program.addCommand(bulkCommand());
program.addCommand(webhooksCommand());
program.addCommand(demoCommand());

program.parseAsync(process.argv).catch((err: unknown) => {
  // configuration and input errors are the user's to fix: say what, without a stack trace
  const known = isConfigError(err) || isInvalidRequestError(err);
  console.error(known ? `kiln: ${(err as Error).message}` : err);
  process.exit(known ? 2 : 1);
});
