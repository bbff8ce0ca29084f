import { Command, InvalidArgumentError, Option } from "commander";
import { loadDevTools } from "./dev-tools.js";

const num = (v: string) => {
  const n = Number(v);
  // commander's own kind of refusal: a usage error (exit 2), not a crash
  if (v.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`not a number: ${v}`);
  return n;
};

/** An http:// or https:// URL, as a worker would be given it; else a usage error (exit 2). */
const httpUrl = (v: string) => {
  if (!/^https?:\/\/[^/]/i.test(v) || !URL.canParse(v)) throw new InvalidArgumentError(`not an http:// or https:// URL: ${v}`);
  return v;
};

/**
 * `kiln simulate`: the provider simulator on a port, for the demo, tests and trying kiln without keys.
 * The simulator lives in the dev tools, loaded when this command is made (its options show the
 * simulator's defaults); where they are absent (the product's image), the command says so when run.
 */
export async function simulateCommand(): Promise<Command> {
  const command = new Command("simulate").description(
    "serve the provider simulator over HTTP: TokenHub, the unified gateway and wcode, as their documents describe them",
  );
  const tools = await loadDevTools("simulate").catch((err: unknown) => err as Error);
  if (tools instanceof Error) {
    return command
      .addHelpText("after", `\n${tools.message}`)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => {
        throw tools;
      });
  }
  const { ProviderSimulator, DEFAULT_SIMULATOR_OPTIONS: d } = tools;
  return command
    .addOption(new Option("--port <n>", "port to listen on").argParser(num).default(8089))
    .addOption(new Option("--host <h>", "address to bind").default("127.0.0.1"))
    .addOption(
      new Option(
        "--public-url <url>",
        "the base URL workers reach the simulator at, which its result URLs start with (default http://<host>:<port>)",
      ).argParser(httpUrl),
    )
    .option("--api-key <key>", "bearer token to require (any token when unset)")
    .addOption(
      new Option("--echo-key <how>", "a 401 quotes the key it was sent, as OpenAI does").choices(["no", "whole", "masked"]).default("no"),
    )
    .addOption(new Option("--image-ms <ms>", "task duration of image models").argParser(num).default(d.durationsMs.image))
    .addOption(new Option("--video-ms <ms>", "task duration of video models").argParser(num).default(d.durationsMs.video))
    .addOption(new Option("--3d-ms <ms>", "task duration of 3D models").argParser(num).default(d.durationsMs["3d"]))
    .addOption(new Option("--failure-rate <f>", "fraction of tasks that fail").argParser(num).default(d.failureRate))
    .addOption(new Option("--rate-limit-rate <f>", "fraction of API calls answered 429").argParser(num).default(d.rateLimitRate))
    .addOption(new Option("--retry-after <s>", "Retry-After seconds on 429").argParser(num).default(d.retryAfterSeconds))
    .addOption(
      new Option("--rate-per-second <n>", "each provider answers 429 to API calls beyond this many in any second (0: no limit)")
        .argParser(num)
        .default(d.ratePerSecond),
    )
    .addOption(new Option("--server-error-rate <f>", "fraction of API calls answered 500/503").argParser(num).default(d.serverErrorRate))
    .addOption(new Option("--image-bytes <n>", "size of each image").argParser(num).default(d.outputBytes.image))
    .addOption(new Option("--video-bytes <n>", "size of each video").argParser(num).default(d.outputBytes.video))
    .addOption(new Option("--model-bytes <n>", "size of each 3D model file").argParser(num).default(d.outputBytes.model))
    .addOption(new Option("--url-ttl-ms <ms>", "result URLs answer 403 this long after completion").argParser(num).default(d.urlTtlMs))
    .addOption(
      new Option("--truncate-rate <f>", "fraction of API calls that take effect and answer 200 with a cut JSON body")
        .argParser(num)
        .default(d.truncateRate),
    )
    .addOption(
      new Option("--reset-rate <f>", "fraction of API calls and downloads whose connection is reset after the effect")
        .argParser(num)
        .default(d.resetRate),
    )
    .addOption(new Option("--latency-ms <ms>", "mean time an API call takes (0.5× to 1.5×)").argParser(num).default(d.latencyMs))
    .option("--seed <s>", "seed of the random decisions", d.seed)
    .action(async (o: Record<string, number | string | undefined>) => {
      const simulator = new ProviderSimulator({
        apiKey: o.apiKey as string | undefined,
        echoKey: o.echoKey as "no" | "whole" | "masked",
        durationsMs: { image: o.imageMs as number, video: o.videoMs as number, "3d": o["3dMs"] as number },
        failureRate: o.failureRate as number,
        rateLimitRate: o.rateLimitRate as number,
        retryAfterSeconds: o.retryAfter as number,
        ratePerSecond: o.ratePerSecond as number,
        serverErrorRate: o.serverErrorRate as number,
        outputBytes: {
          image: o.imageBytes as number,
          video: o.videoBytes as number,
          model: o.modelBytes as number,
          preview: d.outputBytes.preview,
        },
        urlTtlMs: o.urlTtlMs as number,
        truncateRate: o.truncateRate as number,
        resetRate: o.resetRate as number,
        latencyMs: o.latencyMs as number,
        seed: o.seed as string,
      });
      const url = await simulator.start(o.port as number, o.host as string, o.publicUrl as string | undefined);
      console.log(workerVariables(url, o.apiKey as string | undefined));
      const stop = () => void simulator.stop().then(() => process.exit(0));
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
    });
}

/**
 * The banner: where each provider is served, and the exact variables that point a worker at
 * them. The simulator's result URLs are on its own (loopback) address, which kiln refuses to
 * download from unless private URLs are allowed: without that line every job would fail after
 * the simulated provider ran it.
 */
function workerVariables(url: string, apiKey: string | undefined): string {
  const key = apiKey ?? "any-key";
  return [
    `kiln simulator listening on ${url}: TokenHub (${url}/v1/api/...), the unified gateway (${url}/gateway) and wcode (${url}/wcode/api/gpt/v1); stats at ${url}/__simulator/stats`,
    "",
    "To run a kiln worker against it, set (besides REDIS_URL and KILN_WEBHOOK_SECRET):",
    `  TOKENHUB_API_KEY=${key} TOKENHUB_BASE_URL=${url}`,
    `  GATEWAY_API_KEY=${key} GATEWAY_BASE_URL=${url}/gateway`,
    `  WCODE_API_KEY=${key} WCODE_BASE_URL=${url}/wcode/api/gpt/v1`,
    "  KILN_ALLOW_PRIVATE_URLS=true",
    `KILN_ALLOW_PRIVATE_URLS: the simulator's result URLs are on ${new URL(url).hostname}, a private address kiln refuses to download from otherwise (every job would fail invalid_request after its task ran).`,
  ].join("\n");
}
