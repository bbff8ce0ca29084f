import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * What a Node process loads, read from Node's own module resolution: writes into `dir` an ESM
 * resolve hook that appends every URL it resolves to the file `KILN_TEST_MODULE_LOG` names, and
 * a module that registers it (module.register, Node ≥ 20.6). Run a process with
 * `--import <register>` (or `register(hooks)` in its own code) and that variable set.
 */
export async function writeModuleLogHook(dir: string): Promise<{ hooks: string; register: string }> {
  const hooks = pathToFileURL(join(dir, "hooks.mjs")).href;
  await writeFile(
    new URL(hooks),
    `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.KILN_TEST_MODULE_LOG, resolved.url + "\\n");
  return resolved;
}`,
  );
  const register = pathToFileURL(join(dir, "register.mjs")).href;
  await writeFile(new URL(register), `import { register } from "node:module";\nregister(${JSON.stringify(hooks)});\n`);
  return { hooks, register };
}
