// Lint configuration: typescript-eslint's strict type-checked rules for the
// library, a slightly relaxed type-checked set for tests, benches and examples.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "node_modules/**",
      ".rayts-tmp/**",
      "**/fixtures/**",
      "bench/programs/**",
      "**/*.js",
      "**/*.mjs",
      "**/*.cjs",
    ],
  },
  {
    files: ["**/*.ts"],
    extends: [js.configs.recommended, ...tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: {
      reportUnusedDisableDirectives: "error",
    },
    rules: {
      // Numbers in messages read fine; objects and values that may be undefined are still caught.
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      // `() => resolve()` one-line callbacks are the house style; void values in other positions are still caught.
      "@typescript-eslint/no-confusing-void-expression": ["error", { ignoreArrowShorthand: true }],
      // `ObjectRef<unknown>` spells out an untyped payload on purpose; the default argument is the same type.
      "@typescript-eslint/no-unnecessary-type-arguments": "off",
      // Async methods that implement a promise-returning interface (iterator `return()`, state sources) are async on purpose.
      "@typescript-eslint/require-await": "off",
      // Passing on a caught `unknown` is propagation, not a new rejection of a non-Error.
      "@typescript-eslint/prefer-promise-reject-errors": ["error", { allowThrowingUnknown: true }],
      // Unused names are already a compile error (noUnusedLocals/noUnusedParameters) with the `_` escape.
      "@typescript-eslint/no-unused-vars": "off",
    },
  },
  {
    files: ["test/**/*.ts", "property-tests/**/*.ts", "bench/**/*.ts", "examples/**/*.ts"],
    rules: {
      // node:test's `test()`/`describe()` return promises the runner awaits itself.
      "@typescript-eslint/no-floating-promises": ["error", {
        allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "it", "describe", "suite"] }],
      }],
      // They index into arrays they just built or measured; a wrong index fails the run at once.
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  {
    files: ["test/**/*.ts", "property-tests/**/*.ts"],
    rules: {
      // Teardown runs even when set-up failed half-way, and assertions guard values the types only promise.
      "@typescript-eslint/no-unnecessary-condition": "off",
    },
  },
);
