// What Pulumi runs (package.json "main"; Pulumi.yaml sets typescript: false, so
// Pulumi loads neither ts-node nor the compiler): index.ts, with each of the
// project's .ts files transpiled by the TypeScript compiler once and the
// JavaScript kept by a digest of its source, file name, tsconfig.json and the
// compiler's version, in node_modules/.cache/gitops-kyverno/js/. An unchanged
// program therefore starts without loading the compiler at all.
// Transpiling checks no types: index.ts's first import, boot/type-checked.ts,
// does, and stops the program before anything else runs if they are wrong.
// Plain JavaScript, because nothing may compile it.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const cacheDir = path.join(root, "node_modules", ".cache", "gitops-kyverno", "js");
const tsconfigPath = path.join(root, "tsconfig.json");
const tsconfigText = fs.readFileSync(tsconfigPath, "utf8");
const compilerVersion = require("typescript/package.json").version;

let compilerOptions;
function transpile(source, fileName) {
    const ts = require("typescript");
    if (!compilerOptions) {
        const parsed = ts.getParsedCommandLineOfConfigFile(
            tsconfigPath,
            {},
            {
                ...ts.sys,
                onUnRecoverableConfigFileDiagnostic: (d) => {
                    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
                },
            },
        );
        compilerOptions = {
            ...parsed.options,
            module: ts.ModuleKind.CommonJS,
            inlineSourceMap: true,
            sourceMap: false,
            declaration: false,
            noEmit: false,
        };
    }
    return ts.transpileModule(source, { compilerOptions, fileName }).outputText;
}

const loadJs = require.extensions[".js"];
require.extensions[".ts"] = function (module, fileName) {
    // Only the project's own files; a package shipping .ts sources is loaded as it is.
    if (path.relative(root, fileName).split(path.sep).includes("node_modules")) return loadJs(module, fileName);
    const source = fs.readFileSync(fileName, "utf8");
    const digest = crypto.createHash("sha256");
    for (const part of [compilerVersion, tsconfigText, fileName, source]) digest.update(`${part}\0`);
    const cached = path.join(cacheDir, `${digest.digest("hex")}.js`);
    let js;
    try {
        js = fs.readFileSync(cached, "utf8");
    } catch {
        js = transpile(source, fileName);
        try {
            fs.mkdirSync(cacheDir, { recursive: true });
            const tmp = `${cached}.${process.pid}`;
            fs.writeFileSync(tmp, js);
            fs.renameSync(tmp, cached);
        } catch {
            // read-only install: transpile on every run
        }
    }
    module._compile(js, fileName);
};
// Stack traces point at the TypeScript lines (inline source maps).
process.setSourceMapsEnabled(true);

module.exports = require("../index.ts");
