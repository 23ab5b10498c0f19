// The remembered type check (boot/type-check.ts) on a small program of its own:
// it refuses a type error wherever it is, remembers a clean check, and checks
// again when anything the check read changes.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ensureTypeChecked, TypeCheckError, typeCheckCacheFile } from "../../boot/type-check";

const repoRoot = path.resolve(__dirname, "..", "..");

describe("the remembered type check", function () {
    this.timeout(120000);
    let dir: string;
    let cache: string;

    const write = (file: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), text);
    };
    const check = () => ensureTypeChecked(dir, path.join(dir, "index.ts"), cache);
    const rejects = (pattern: RegExp) =>
        assert.throws(check, (err: Error) => {
            assert.ok(err instanceof TypeCheckError, String(err));
            assert.match(err.message, pattern);
            return true;
        });

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "type-check-"));
        cache = path.join(dir, "cache", "type-checked.json");
        // The project's own compiler options and installed packages.
        fs.copyFileSync(path.join(repoRoot, "tsconfig.json"), path.join(dir, "tsconfig.json"));
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"));
        write(
            "index.ts",
            'import { double } from "./lib/double";\nimport type { Shape } from "./lib/shape";\nexport const four: number = double(2);\nexport const s: Shape = { sides: 4 };\n',
        );
        write("lib/double.ts", "export function double(n: number): number {\n    return n * 2;\n}\n");
        write("lib/shape.ts", "export interface Shape {\n    sides: number;\n}\n");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("refuses a type error in an imported file, naming file, line and message, and remembers nothing", () => {
        write("lib/double.ts", 'export function double(n: number): number {\n    return "twice " + n;\n}\n');
        rejects(/lib\/double\.ts\(2,5\): Type 'string' is not assignable to type 'number'/);
        assert.ok(!fs.existsSync(cache));
        rejects(/lib\/double\.ts/);
    });

    it("remembers a clean check, and checks again when a checked file changes", () => {
        assert.strictEqual(check(), "checked");
        assert.strictEqual(check(), "cached");
        const remembered = JSON.parse(fs.readFileSync(cache, "utf8")) as { checked: { files: string[] }[] };
        assert.deepStrictEqual(remembered.checked[0].files, ["index.ts", "lib/double.ts", "lib/shape.ts"]);
        write("lib/double.ts", 'export function double(n: number): number {\n    return "twice " + n;\n}\n');
        rejects(/lib\/double\.ts\(2,5\)/);
        write("lib/double.ts", "export function double(n: number): number {\n    return n + n;\n}\n");
        assert.strictEqual(check(), "checked");
        assert.strictEqual(check(), "cached");
    });

    it("checks again when a file imported only for its types changes", () => {
        assert.strictEqual(check(), "checked");
        write("lib/shape.ts", "export interface Shape {\n    sides: string;\n}\n");
        rejects(/index\.ts\(4,27\): Type 'number' is not assignable to type 'string'/);
    });

    it("checks again when tsconfig.json changes, and when a new import appears", () => {
        write(
            "index.ts",
            'import { double } from "./lib/double";\nexport const four: number = double(2);\nexport function f(x: number) {\n    if (x) return 1;\n}\n',
        );
        const config = JSON.parse(fs.readFileSync(path.join(dir, "tsconfig.json"), "utf8")) as {
            compilerOptions: Record<string, unknown>;
        };
        config.compilerOptions.noImplicitReturns = false;
        fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(config));
        assert.strictEqual(check(), "checked");
        config.compilerOptions.noImplicitReturns = true;
        fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(config));
        rejects(/Not all code paths return a value/);
        config.compilerOptions.noImplicitReturns = false;
        fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(config));
        assert.strictEqual(check(), "cached");
        write("lib/extra.ts", "export const n: number = 'one';\n");
        write(
            "index.ts",
            fs.readFileSync(path.join(dir, "index.ts"), "utf8") +
                'import { n } from "./lib/extra";\nexport const m = n;\n',
        );
        rejects(/lib\/extra\.ts\(1,14\)/);
    });

    it("keeps its memory beside the installed packages, where copies of the project share it", () => {
        assert.strictEqual(
            typeCheckCacheFile("/p"),
            path.join("/p", "node_modules", ".cache", "gitops-kyverno", "type-checked.json"),
        );
    });
});
