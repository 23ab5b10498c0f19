// A type check of the program that is remembered. ensureTypeChecked() checks the
// program's own files with the compiler (tsconfig.json's options) and keeps a
// digest of exactly the files it read: an unchanged program then costs a few
// file reads; any change to one of them, to tsconfig.json, to the installed
// packages or to TypeScript itself makes the next run check again.
// boot/type-checked.ts runs it before the program does anything.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

interface Checked {
    /** The program's own source files the compiler read, relative to the project. */
    files: string[];
    digest: string;
}

export const projectDir = path.resolve(__dirname, "..");
const entry = path.join(projectDir, "index.ts");
const keep = 8;

/** Where verified digests are kept: beside the installed packages, so every copy of the project that shares them shares it. */
export function typeCheckCacheFile(dir = projectDir): string {
    return path.join(dir, "node_modules", ".cache", "gitops-kyverno", "type-checked.json");
}

/** The digest of what a check depends on: the files, tsconfig.json, the installed packages, the compiler. */
function digestOf(dir: string, files: string[]): string | undefined {
    const h = crypto.createHash("sha256");
    try {
        h.update(require("typescript/package.json").version as string);
        for (const f of ["tsconfig.json", path.join("node_modules", ".package-lock.json"), ...files]) {
            h.update(`\0${f}\0`);
            h.update(fs.readFileSync(path.join(dir, f)));
        }
    } catch {
        return undefined; // a file is gone: check again
    }
    return h.digest("hex");
}

function readCache(file: string): Checked[] {
    try {
        const v = JSON.parse(fs.readFileSync(file, "utf8")) as { checked?: Checked[] };
        return Array.isArray(v.checked) ? v.checked : [];
    } catch {
        return [];
    }
}

function writeCache(file: string, checked: Checked[]): void {
    try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}`;
        fs.writeFileSync(tmp, JSON.stringify({ checked: checked.slice(0, keep) }));
        fs.renameSync(tmp, file);
    } catch {
        // read-only install: every run checks
    }
}

/** Full check of `entryFile` and everything it imports, with tsconfig.json's options. */
export function typeCheck(dir: string, entryFile: string): { files: string[]; errors: string[] } {
    const ts = require("typescript") as typeof import("typescript");
    const parsed = ts.getParsedCommandLineOfConfigFile(
        path.join(dir, "tsconfig.json"),
        {},
        {
            ...ts.sys,
            onUnRecoverableConfigFileDiagnostic: (d) => {
                throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
            },
        },
    );
    if (!parsed) throw new Error(`cannot read ${path.join(dir, "tsconfig.json")}`);
    const options = { ...parsed.options, noEmit: true, noCheck: false };
    const program = ts.createProgram([entryFile], options);
    const errors = ts
        .getPreEmitDiagnostics(program)
        .filter((d) => d.category === ts.DiagnosticCategory.Error)
        .map((d) => {
            const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
            if (!d.file || d.start === undefined) return text;
            const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
            return `${path.relative(dir, d.file.fileName)}(${line + 1},${character + 1}): ${text}`;
        });
    const real = fs.realpathSync(dir);
    const files = program
        .getSourceFiles()
        .map((s) => path.relative(real, fs.realpathSync(s.fileName)))
        .filter((f) => !f.startsWith("..") && !path.isAbsolute(f) && !f.split(path.sep).includes("node_modules"))
        .sort();
    return { files, errors };
}

export class TypeCheckError extends Error {
    constructor(readonly errors: string[]) {
        super(
            `The program does not type-check; nothing was created or changed:\n${errors.map((e) => `  ${e}`).join("\n")}`,
        );
        this.name = "TypeCheckError";
    }
}

/** Throws TypeCheckError unless the program in `dir` type-checks (checked now, or earlier with identical inputs). */
export function ensureTypeChecked(
    dir = projectDir,
    entryFile = entry,
    cacheFile = typeCheckCacheFile(dir),
): "cached" | "checked" {
    const cached = readCache(cacheFile);
    if (cached.some((c) => digestOf(dir, c.files) === c.digest)) return "cached";
    const { files, errors } = typeCheck(dir, entryFile);
    if (errors.length > 0) throw new TypeCheckError(errors);
    const digest = digestOf(dir, files);
    if (digest) writeCache(cacheFile, [{ files, digest }, ...cached.filter((c) => c.digest !== digest)]);
    return "checked";
}
