/**
 * kiln's exit codes, the same for every command (docs/cli.md, "Exit codes"): scripts branch on
 * them, so a code means one thing whatever the command.
 */
export const EXIT = {
  ok: 0,
  /** The work itself failed: a job failed, a bulk had invalid lines or failed jobs, an unexpected error. */
  failed: 1,
  /** Usage, input or configuration: an unknown option, a missing argument, a request that does not validate. */
  usage: 2,
  /** No such job, batch or delivery. */
  notFound: 3,
  /** The thing exists but is in the wrong state for this: already ended, not failed, an id holding another request. */
  conflict: 4,
  /** Redis is full (at maxmemory): nothing was accepted; the same command later succeeds. */
  unavailable: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * Ends a command with `kiln: <message>` on stderr and `code`, without a stack trace: what a
 * command throws when it cannot do what was asked for a reason the caller can act on.
 */
export class CliExit extends Error {
  override name = "CliExit";
  constructor(
    readonly code: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

export function isCliExit(err: unknown): err is CliExit {
  return err instanceof Error && err.name === "CliExit" && typeof (err as CliExit).code === "number";
}
