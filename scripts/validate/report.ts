// Collects one line per check; failures keep the file, the object and the
// tool's message together so a red CI run names the culprit.
export interface Failure {
    check: string;
    file: string;
    object?: string;
    message: string;
}

export class Report {
    passed = 0;
    readonly failures: Failure[] = [];

    pass(check: string, what: string): void {
        this.passed++;
        console.log(`ok   ${check}: ${what}`);
    }

    fail(f: Failure): void {
        this.failures.push(f);
        const obj = f.object ? ` ${f.object}` : "";
        console.log(`FAIL ${f.check}: ${f.file}${obj}\n${indent(f.message)}`);
    }

    /** The closing line CI reads: "validate: N passed, N failed". */
    summary(): string {
        const lines = this.failures.map((f) => `  - ${f.check}: ${f.file}${f.object ? ` ${f.object}` : ""}`);
        return [
            ...(lines.length ? ["failed checks:", ...lines] : []),
            `validate: ${this.passed} passed, ${this.failures.length} failed`,
        ].join("\n");
    }
}

function indent(text: string): string {
    return text
        .trimEnd()
        .split("\n")
        .map((l) => `     | ${l}`)
        .join("\n");
}
