import type { ReuseOption } from "../contract/generation-request.js";
import { InvalidRequestError } from "../contract/invalid-request-error.js";

/** `--reuse-ttl` and `--reuse-unseeded`, as `kiln enqueue` and `kiln bulk` take them. */
export interface ReuseFlags {
  reuseTtl?: string;
  reuseUnseeded?: boolean;
}

/** The flags as a request's `reuse`; undefined without `--reuse-ttl`. The schema checks the range and names the field. */
export function reuseOf(flags: ReuseFlags): ReuseOption | undefined {
  if (flags.reuseTtl === undefined) {
    if (flags.reuseUnseeded) throw new InvalidRequestError("--reuse-unseeded: needs --reuse-ttl");
    return undefined;
  }
  const ttl = Number(flags.reuseTtl);
  if (!/^\d+$/.test(flags.reuseTtl.trim())) throw new InvalidRequestError(`--reuse-ttl: expected whole seconds, got ${flags.reuseTtl}`);
  return flags.reuseUnseeded ? { ttl, unseeded: true } : { ttl };
}
