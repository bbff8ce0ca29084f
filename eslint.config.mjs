// Lint rules for kiln: typescript-eslint's recommended type-checked set, with formatting left to
// prettier (eslint-config-prettier turns off every rule prettier owns).
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import globals from "globals";
import tseslint from "typescript-eslint";
import kiln from "./eslint-rules/comment-facts.mjs";

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "packages/*/dist/**",
      "dist-bench/**",
      "node_modules/**",
      "kiln-demo/**",
      "test-results/**",
      "schema/**",
      "generated/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: {
        projectService: { allowDefaultProject: ["*.mjs", "scripts/*.mjs", "eslint-rules/*.mjs"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // a `let` read by a closure before its one assignment (e.g. `workers` in `kiln worker`) stays a `let`
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
      // fastify handlers and interface implementations are async by contract, awaiting or not
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    // every environment variable of the product is read in src/config/ (its schema, default and check live there)
    files: ["src/**/*.ts"],
    ignores: ["src/config/**"],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "read environment variables in src/config/ (a schema per area, loadEnvironment)" },
      ],
    },
  },
  {
    // the visit pipeline takes ports: BullMQ, Redis and kiln's queue layer stay in the adapter (src/workers/)
    files: ["src/visit/**/*.ts", "src/state/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            { name: "bullmq", message: "the visit pipeline knows no BullMQ: take a port (VisitJob) instead" },
            { name: "ioredis", message: "the visit pipeline knows no Redis: take a port instead" },
          ],
          patterns: [{ group: ["**/queue/*"], message: "the visit pipeline knows no queue layer: take a port (VisitJob) instead" }],
        },
      ],
    },
  },
  {
    // comments state facts that stay true (eslint-rules/comment-facts.mjs), in the product and its dev tools
    files: ["src/**/*.ts", "packages/*/src/**/*.ts"],
    plugins: { kiln },
    rules: { "kiln/comment-facts": "error" },
  },
  {
    // tests read JSON answers and poke at results freely; what they check is in their assertions
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
  {
    // the dev tools stay out of the product: only `kiln demo` and `kiln simulate` load them, when they run (src/cli/dev-tools.ts)
    files: ["src/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        { paths: [{ name: "@kiln/dev-tools", allowTypeImports: true, message: "load it with loadDevTools() (src/cli/dev-tools.ts)" }] },
      ],
    },
  },
  { files: ["**/*.mjs", "bin/**/*.js"], ...tseslint.configs.disableTypeChecked },
  prettier,
);
