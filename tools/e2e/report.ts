/** One line per check, and the closing `N passed, N failed` line. */

export interface CheckLine {
    readonly ok: boolean;
    readonly name: string;
    readonly detail?: string;
}

export class Report {
    readonly lines: CheckLine[] = [];

    constructor(private readonly out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)) {}

    pass(name: string, detail?: string): void {
        this.lines.push({ ok: true, name, detail });
        const oneLine = detail?.replace(/\s*\n\s*/g, " ");
        this.out(`ok   ${name}${oneLine ? ` — ${oneLine}` : ""}`);
    }

    fail(name: string, detail: string): void {
        this.lines.push({ ok: false, name, detail });
        const [first, ...rest] = detail.trimEnd().split("\n");
        this.out(`FAIL ${name}: ${first}`);
        for (const l of rest) this.out(`       ${l}`);
    }

    /** Runs `fn` as one check: passes with its returned detail, fails with its error's message. */
    async check(name: string, fn: () => Promise<string | undefined>): Promise<boolean> {
        try {
            this.pass(name, await fn());
            return true;
        } catch (e) {
            this.fail(name, e instanceof Error ? e.message : String(e));
            return false;
        }
    }

    get passed(): number {
        return this.lines.filter((l) => l.ok).length;
    }

    get failed(): number {
        return this.lines.filter((l) => !l.ok).length;
    }

    /** The closing line, exactly `N passed, N failed`. */
    summary(): string {
        return `${this.passed} passed, ${this.failed} failed`;
    }
}
