// Types for the values test/support/global-setup.ts provides to tests,
// so that `inject("redisUrl")` and `inject("s3")` are typed.
declare module "vitest" {
  export interface ProvidedContext {
    /** redis://host:port of the Redis shared by the whole test run. */
    redisUrl: string;
    /** Coordinates of the S3 server shared by the whole test run (bucket already exists). */
    s3: {
      endpoint: string;
      region: string;
      accessKeyId: string;
      secretAccessKey: string;
      bucket: string;
      forcePathStyle: boolean;
    };
  }
}

// Mark this file as a module so the block above augments "vitest" instead of replacing it.
export {};
