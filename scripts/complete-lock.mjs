// This machine's npm mirror lacks some optional platform builds (msgpackr-extract's, rollup's),
// so a lock written here omits them and `npm ci` elsewhere refuses it ("Missing: ... from lock
// file"). Run after every `npm install`: for each optional dependency the lock names but lacks,
// it adds an entry with the pinned version and the platform fields (cpu, os, libc) read from
// the registry's newest version of that package, which do not change between versions.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
const packages = lock.packages;
let added = 0;

for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (packages[key] || packages[`${path}/node_modules/${name}`]) continue;
    const view = JSON.parse(execFileSync("npm", ["view", name, "cpu", "os", "libc", "--json"], { encoding: "utf8" }));
    if (!view.cpu || !view.os) throw new Error(`${name}: the registry gives no cpu/os; it is not a platform build`);
    packages[key] = {
      version: version.replace(/^[\^~]/, ""),
      cpu: view.cpu,
      ...(view.libc ? { libc: view.libc } : {}),
      dev: entry.dev,
      optional: true,
      os: view.os,
    };
    if (!entry.dev) delete packages[key].dev;
    added++;
  }
}

lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync("package-lock.json", JSON.stringify(lock, null, 2) + "\n");
console.log(`complete-lock: added ${added} platform entries`);
