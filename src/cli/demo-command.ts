import { Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_DEMO_DIR, runDemo } from "./demo/run-demo.js";

/** `kiln demo`: the whole pipeline on embedded defaults (the README's main command). */
export function demoCommand(): Command {
  return new Command("demo")
    .description("run the whole pipeline locally: Redis, the provider simulator, workers, a webhook receiver and a local archive")
    .option("--archive-dir <dir>", "where archived files go when S3_BUCKET is not set", DEFAULT_DEMO_DIR)
    .addOption(new Option("--timeout <ms>", "give up after this long").argParser(positiveMs).default(120_000))
    .action(async (o: { archiveDir: string; timeout: number }) => {
      const ok = await runDemo({ timeoutMs: o.timeout, archiveDir: o.archiveDir });
      console.log(ok ? "\ndemo finished: every request ended as expected." : "\ndemo finished with unexpected results (see above).");
      process.exitCode = ok ? 0 : 1;
    });
}

function positiveMs(value: string): number {
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms <= 0) throw new InvalidArgumentError("expected a positive number of milliseconds");
  return ms;
}
