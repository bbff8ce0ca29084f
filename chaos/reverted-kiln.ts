import { cp, mkdtemp, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** One fix, and the text edits of the built code that take it back out. */
export interface Revert {
  name: string;
  /** The case that must fail against the reverted kiln. */
  caseName: string;
  edits: Array<{ file: string; from: string; to: string }>;
}

/**
 * Fixes the chaos suite must catch if they were undone. Each is the old behaviour written back
 * into a copy of the built code, so the chaos case runs against a kiln that really lacks it.
 */
export const REVERTS: Revert[] = [
  {
    name: "a producer's `kiln` field trusted as kiln's state",
    caseName: "fuzz",
    edits: [
      { file: "dist/visit/job-intake.js", from: `if (isRecord(data) && Object.hasOwn(data, "kiln")) {`, to: `if (false) {` },
      {
        file: "dist/visit/job-intake.js",
        from: `const parsed = GenerationRequest.safeParse(data);`,
        to: `const parsed = GenerationRequest.safeParse(isRecord(data) ? (({ kiln, ...request }) => request)(data) : data);`,
      },
      { file: "dist/queue/kiln-job.js", from: `const value = job?.progress;`, to: `const value = job?.data?.kiln ?? job?.progress;` },
    ],
  },
  {
    name: "an unreadable 2xx or a 5xx on submit fails the job instead of following the retry rule",
    caseName: "storm",
    edits: [
      {
        file: "dist/visit/steps/submit-step.js",
        from: `if (ctx.onUnknownSubmit === "fail")\n        return unknownOutcomeFailure(unknown, message);`,
        to: `return unknownOutcomeFailure(unknown, message);`,
      },
    ],
  },
  {
    name: "the archive's download forwarding its errors to a hasher nobody listens to once the store gave up",
    caseName: "hostile",
    edits: [
      {
        file: "dist/visit/steps/archive-step.js",
        from: `const download = pipeline(opened.body, hasher, { signal: stop.signal });\n    // a put that threw instead of rejecting must still leave the download awaited below\n    const upload = Promise.resolve().then(() => put(hasher));`,
        to:
          `opened.body.once("error", (err) => hasher.destroy(err));\n    const download = Promise.resolve();\n` +
          `    const upload = put(opened.body.pipe(hasher)).finally(() => { if (!opened.body.readableEnded) opened.body.destroy(); });`,
      },
    ],
  },
];

/** A copy of the built kiln with `revert` applied; returns the path of its `bin/kiln.js`. */
export async function buildReverted(revert: Revert): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "kiln-reverted-"));
  await cp(join(ROOT, "dist"), join(dir, "dist"), { recursive: true });
  await cp(join(ROOT, "bin"), join(dir, "bin"), { recursive: true });
  await cp(join(ROOT, "package.json"), join(dir, "package.json"));
  await symlink(join(ROOT, "node_modules"), join(dir, "node_modules"));
  for (const edit of revert.edits) {
    const path = join(dir, edit.file);
    const text = await readFile(path, "utf8");
    // a revert that no longer applies would make the self-test pass for the wrong reason
    if (!text.includes(edit.from)) throw new Error(`revert "${revert.name}": ${edit.file} no longer contains ${JSON.stringify(edit.from)}`);
    await writeFile(path, text.replace(edit.from, edit.to));
  }
  return join(dir, "bin", "kiln.js");
}
