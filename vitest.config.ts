import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Two tiers, one naming scheme (docs/testing.md):
// - unit: test/unit/**/*.test.ts, in-process only: no Redis, no S3, no child process;
// - e2e: test/integration/**/*.e2e.test.ts, against one Redis + one S3 server started for the run.
// `vitest run` runs both; `--project unit` / `--project e2e` one of them.
export default defineConfig({
  // @kiln/dev-tools (packages/dev-tools) from its source, as kiln's own modules are: tests need no build of it
  resolve: { alias: { "@kiln/dev-tools": fileURLToPath(new URL("packages/dev-tools/src/index.ts", import.meta.url)) } },
  test: {
    // Child processes instead of worker threads; files run in parallel (default).
    pool: "forks",
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          // no globalSetup: nothing is started, inject("redisUrl") / inject("s3") are undefined
          // Files share each fork's module graph instead of importing src/ again per file (about 2.5x
          // faster here); no unit test keeps global state, and shuffled runs check they stay so.
          isolate: false,
          testTimeout: 15_000,
          hookTimeout: 15_000,
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/integration/**/*.e2e.test.ts"],
          // Starts one Redis + one S3 server for the whole run (see test/support/).
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
