// Types for the values test/support/global-setup.ts provides to tests,
// so that `inject("redisUrl")` and `inject("s3")` are typed.
import type { S3ConnectionInfo } from "./s3-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** redis://host:port of the Redis shared by the whole test run. */
    redisUrl: string;
    /** Coordinates of the S3 server shared by the whole test run (bucket already exists). */
    s3: S3ConnectionInfo;
  }
}
