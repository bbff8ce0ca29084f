/** Compile-time exhaustiveness for switches over unions: a new member fails the build here. */
export function assertNever(value: never, what = "value"): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
