import { defineConfig } from "vitest/config";

export default defineConfig({
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
