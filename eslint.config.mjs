// Lint TypeScript with the recommended rules of eslint and typescript-eslint,
// and the JavaScript stand-in providers (scripts/tools/providers) with the same
// rules: they run inside the engine, so a mistake there breaks every e2e run.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", "bin/", ".tools/", "**/*.mjs", "**/*.js", "!scripts/tools/providers/*.js"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        rules: {
            // The dynamic providers and API answers are untyped JSON at the edges.
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-require-imports": "off",
        },
    },
    {
        // Plain CommonJS run by Node as a plugin executable.
        files: ["scripts/tools/providers/*.js"],
        languageOptions: {
            sourceType: "commonjs",
            globals: {
                require: "readonly",
                process: "readonly",
                Buffer: "readonly",
                console: "readonly",
                module: "writable",
            },
        },
    },
);
