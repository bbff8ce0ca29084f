import { mkdir, writeFile } from "node:fs/promises";
import { ChaosWorld } from "./chaos-world.js";
import { CASES, type CaseResult } from "./cases.js";
import { REVERTS, buildReverted } from "./reverted-kiln.js";

/**
 * `npm run chaos [-- --full] [-- --case kill,fuzz]`: kiln under real faults, against real
 * processes (redis-server with AOF, an S3 server behind a proxy that can be cut, the provider
 * simulator, a webhook receiver and `kiln worker` processes). Prints one figure per case and
 * exits non-zero when any case did not hold. The short sizes run in CI; `--full` runs the
 * sizes the README's table reports.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const full = args.includes("--full");
  const only = args.find((a, i) => args[i - 1] === "--case")?.split(",");
  const names = only ?? Object.keys(CASES);
  const world = new ChaosWorld(process.env.CHAOS_APPENDFSYNC === "everysec" ? "everysec" : "always");
  await world.start();
  const results: CaseResult[] = [];
  try {
    for (const name of names) {
      const run = CASES[name];
      if (!run) throw new Error(`no chaos case "${name}" (cases: ${Object.keys(CASES).join(", ")})`);
      const started = Date.now();
      let result: CaseResult;
      try {
        result = await run(world, { full });
      } catch (err) {
        result = { name, passed: false, figure: "the case itself failed", problems: [String((err as Error).stack ?? err)], details: {} };
      }
      results.push(result);
      console.log(
        `chaos ${result.passed ? "ok  " : "FAIL"} ${result.name} (${((Date.now() - started) / 1000).toFixed(0)} s): ${result.figure}`,
      );
      for (const problem of result.problems.slice(0, 10)) console.log(`    ${problem}`);
    }
    // each case must be able to fail: against a kiln with its fix taken back out, it does
    if (args.includes("--self-test")) {
      for (const revert of REVERTS) {
        world.kilnBin = await buildReverted(revert);
        const result = await CASES[revert.caseName]!(world, { full: false }).catch((err: unknown) => ({
          passed: false,
          figure: String(err),
          problems: [],
        }));
        world.kilnBin = ChaosWorld.BIN;
        const caught = !result.passed;
        results.push({
          name: `self-test ${revert.caseName}`,
          passed: caught,
          figure: `${revert.caseName} ${caught ? "fails" : "STILL PASSES"} against a kiln with ${revert.name}: ${result.problems[0] ?? result.figure}`,
          problems: [],
          details: {},
        });
        console.log(`chaos ${caught ? "ok  " : "FAIL"} self-test: ${results.at(-1)!.figure.slice(0, 300)}`);
      }
    }
  } finally {
    await world.close();
  }
  await mkdir("chaos/results", { recursive: true });
  // a run of some cases only is named after them, so it never overwrites a whole run's figures
  const file = `chaos/results/${full ? "full" : "short"}-${new Date().toISOString().slice(0, 10)}${only ? `-${only.join("-")}` : ""}.json`;
  await writeFile(file, JSON.stringify({ date: new Date().toISOString(), full, node: process.version, results }, null, 2));
  const failed = results.filter((r) => !r.passed).length;
  console.log(`chaos: ${results.length - failed} passed, ${failed} failed (${file})`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
