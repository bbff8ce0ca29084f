import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // @kiln/dev-tools (packages/dev-tools) from its source, as kiln's own modules are: tests need no build of it
  resolve: { alias: { "@kiln/dev-tools": fileURLToPath(new URL("packages/dev-tools/src/index.ts", import.meta.url)) } },
  test: {
    include: ["test/**/*.test.ts"],
    // Starts one Redis + one S3 server for the whole run (see test/support/).
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Child processes instead of worker threads; files run in parallel (default).
    pool: "forks",
  },
});
