/** One line per check, and the closing `N passed, N failed` line. */

export interface CheckLine {
    readonly ok: boolean;
    readonly name: string;
    readonly detail?: string;
}

/** A check that cannot run on this machine, and why (counted apart: neither passed nor failed). */
export interface BlockedLine {
    readonly name: string;
    readonly reason: string;
}

export class Report {
    readonly lines: CheckLine[] = [];
    readonly blockedLines: BlockedLine[] = [];

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

    /**
     * A check that is blocked by something outside the project (a module the Go module proxy
     * refuses, …): printed with the reason, never counted as passed.
     */
    blocked(name: string, reason: string): void {
        this.blockedLines.push({ name, reason });
        this.out(`BLOCKED ${name}: ${reason.replace(/\s*\n\s*/g, " ")}`);
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

    /** The line before the closing one when checks were blocked, else undefined. */
    blockedSummary(): string | undefined {
        const n = this.blockedLines.length;
        return n === 0 ? undefined : `${n} blocked (not run, not counted; see the BLOCKED lines)`;
    }

    /** The closing line, exactly `N passed, N failed`. */
    summary(): string {
        return `${this.passed} passed, ${this.failed} failed`;
    }
}
