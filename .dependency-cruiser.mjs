// The rules of docs/architecture.md#source-layout that a machine checks: `npm run check:deps`.
// Each folder of src/ (and logger.ts) sits in a layer; it imports its own files and folders of
// lower layers only, so folders of one layer import none of each other. No module imports itself
// back through others; every module of src/ is reached from an entry point; the dev tools import
// nothing of src/, and src/ loads them only when `kiln demo` or `kiln simulate` runs.

/** Bottom to top. Keep in step with the table in docs/architecture.md. */
const LAYERS = [
  ["util"],
  ["net", "telemetry", "logger.ts"],
  ["contract"],
  ["state", "providers"],
  ["queue"],
  ["billing", "cancel", "inflight", "polling", "rate-limits", "reuse", "storage", "webhooks"],
  ["batches", "visit"],
  ["config"],
  ["producers", "workers"],
  ["server"],
  ["cli"],
];

/** What package.json, bin/ and the library faces expose: everything else in src/ must be reached from these. */
const ENTRIES = [
  "src/cli/main.ts", // bin/kiln.js loads its build
  "src/server/index.ts",
  "src/producers/index.ts",
  "src/storage/index.ts",
  "src/providers/index.ts",
  "src/billing/index.ts",
];

/** The package's entry (package.json `exports["."]`): producers import it, so it loads no worker, server or S3. */
const PACKAGE_ENTRY = "src/producers/index.ts";
/** What the package's entry must not reach: kiln's worker side in src/, and the packages only that side needs. */
const WORKER_SIDE = ["workers", "visit", "server", "storage"];
const WORKER_PACKAGES = ["fastify", "@fastify", "@aws-sdk", "@bull-board"];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** A folder's modules, or the one root file. */
const place = (name) => (name.endsWith(".ts") ? `${escape(name)}$` : `${escape(name)}/`);
const within = (names) => `^src/(?:${names.map(place).join("|")})`;

const layerRules = LAYERS.flatMap((layer, level) =>
  layer.map((name) => {
    const below = LAYERS.slice(0, level).flat();
    return {
      name: `layer-${name.replace(/\.ts$/, "")}`,
      comment: `${name} (layer ${level}) imports only itself and ${below.length ? below.join(", ") : "no other folder"} (docs/architecture.md#source-layout)`,
      severity: "error",
      from: { path: within([name]) },
      to: { path: "^src/", pathNot: within([name, ...below]) },
    };
  }),
);

const placed = LAYERS.flat();

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...layerRules,
    {
      name: "layer-unplaced",
      comment: "every folder of src/ has a layer: add a new one to LAYERS here and to the table in docs/architecture.md",
      severity: "error",
      from: { path: "^src/", pathNot: within(placed) },
      to: {},
    },
    {
      name: "no-circular",
      comment: "no module imports itself back through others, run-time and type-only imports alike",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-orphans",
      comment: "a module nothing imports and that imports nothing is dead",
      severity: "error",
      from: { orphan: true, pathNot: "\\.d\\.ts$" },
      to: {},
    },
    {
      name: "reached-from-entries",
      comment: `every module of src/ is reached from an entry point (${ENTRIES.join(", ")})`,
      severity: "error",
      from: { path: `^(?:${ENTRIES.map(escape).join("|")})$` },
      to: { path: "^src/", pathNot: `^(?:${ENTRIES.map(escape).join("|")})$`, reachable: false },
    },
    {
      name: "package-entry-stays-light",
      comment: `${PACKAGE_ENTRY} (the package's entry) and all it imports, type-only imports too, reach none of ${WORKER_SIDE.join(", ")} nor ${WORKER_PACKAGES.join(", ")}`,
      severity: "error",
      from: { path: `^${escape(PACKAGE_ENTRY)}$` },
      to: {
        path: `${within(WORKER_SIDE)}|^node_modules/(?:${WORKER_PACKAGES.map(escape).join("|")})/`,
        reachable: true,
      },
    },
    {
      name: "dev-tools-stay-out",
      comment: "the dev tools (@kiln/dev-tools) import nothing of kiln's src/",
      severity: "error",
      from: { path: "^packages/dev-tools/" },
      to: { path: "^src/" },
    },
    {
      name: "dev-tools-loaded-lazily",
      comment: "src/ loads @kiln/dev-tools only through loadDevTools() (src/cli/dev-tools.ts); elsewhere type-only imports",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/cli/dev-tools\\.ts$" },
      to: { path: "^packages/dev-tools/", dependencyTypesNot: ["type-only", "type-import"] },
    },
    {
      name: "dev-tools-import-is-dynamic",
      comment: "loadDevTools() imports @kiln/dev-tools when it runs (`await import`), so the product never loads it otherwise",
      severity: "error",
      from: { path: "^src/cli/dev-tools\\.ts$" },
      to: { path: "^packages/dev-tools/", dependencyTypesNot: ["type-only", "type-import", "dynamic-import"] },
    },
    {
      name: "not-to-unresolvable",
      comment: "every import resolves",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // the worker side's packages as leaves too (not followed), for package-entry-stays-light
    includeOnly: `^(?:src|packages/dev-tools/src)/|^node_modules/(?:${WORKER_PACKAGES.map(escape).join("|")})/`,
    doNotFollow: { path: "^node_modules/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    // @kiln/dev-tools from its source (the `kiln-source` condition), as tsconfig.json resolves it
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["kiln-source", "import", "types", "node", "default"],
      extensions: [".ts", ".js", ".mjs", ".json"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
