// Lint rules for kiln: typescript-eslint's recommended type-checked set, with formatting left to
// prettier (eslint-config-prettier turns off every rule prettier owns).
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import globals from "globals";
import tseslint from "typescript-eslint";
import kiln from "./eslint-rules/comment-facts.mjs";

export default tseslint.config(
  { ignores: ["dist/**", "dist-bench/**", "node_modules/**", "kiln-demo/**", "test-results/**", "schema/**"] },
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
    // every environment variable is read in src/config/ (its schema, default and check live there);
    // the simulator and the redis-server/child-process helpers are dev tools, leaving src/ for a package of their own
    files: ["src/**/*.ts"],
    ignores: ["src/config/**", "src/simulator/**", "src/util/redis-process.ts", "src/util/managed-process.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "read environment variables in src/config/ (a schema per area, loadEnvironment)" },
      ],
    },
  },
  {
    // comments in src/ state facts that stay true (eslint-rules/comment-facts.mjs); the simulator and the
    // redis-server/child-process helpers, leaving src/ for a package of their own, are not checked here
    files: ["src/**/*.ts"],
    ignores: ["src/simulator/**", "src/util/redis-process.ts", "src/util/managed-process.ts"],
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
  { files: ["**/*.mjs", "bin/**/*.js"], ...tseslint.configs.disableTypeChecked },
  prettier,
);
