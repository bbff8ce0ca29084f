import { z } from "zod";
import { Flag, Token, WholeNumber } from "./values.js";

/** HTTP: the API, /metrics and the dashboard, and the tokens that guard them. */
export const HttpConfig = z.object({
  /** The API's and /metrics' port, 0 to 65535 (0 picks a free one). Unset by default: no HTTP server in `kiln worker`, 8080 for `kiln server`. */
  KILN_HTTP_PORT: WholeNumber(0, 65_535, { whole: "expected a port number", range: "expected 0 to 65535" }).optional(),
  /** The interface the HTTP server binds: `0.0.0.0` (every IPv4 interface, as probes and scrapers in a container need), `127.0.0.1`, `::`… */
  KILN_HTTP_HOST: z.string().trim().min(1, "expected an interface address such as 0.0.0.0 or 127.0.0.1").default("0.0.0.0"),
  /** Bearer token of the write routes (and of reads), at least 16 characters. Unset by default: writes answer 503. */
  KILN_API_TOKEN: Token().optional(),
  /** Bearer token of the read routes (GET /v1/generations/{id}, /v1/batches/{id}) only, at least 16 characters. Unset by default. */
  KILN_READ_TOKEN: Token().optional(),
  /** Read routes need no token. Default false. */
  KILN_PUBLIC_READS: Flag.default(false),
  /** The dashboard (bull-board at `/admin/queues`): turns it on and guards it, at least 16 characters. Unset by default: no dashboard. */
  KILN_ADMIN_TOKEN: Token("expected at least 16 characters (it guards every job's data)").optional(),
  /** The dashboard may retry, clean, promote and remove jobs. Default false: read-only. */
  KILN_ADMIN_WRITE: Flag.default(false),
  /** Distinct tenants `/metrics` names, per process (1 to 1000); later ones are counted as `other`. Default 50. */
  KILN_METRICS_TENANTS: WholeNumber(1, 1000, { whole: "expected a whole number", range: "expected 1 to 1000" }).default(50),
});
export type HttpConfig = z.infer<typeof HttpConfig>;
