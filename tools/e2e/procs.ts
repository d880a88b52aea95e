/**
 * The e2e's process supervisor: every server it starts runs in a process group of its own, with
 * its output in a log file, and `stopAll` ends every group (SIGTERM, then SIGKILL after a bounded
 * wait), also when the run fails or is interrupted (Ctrl-C, SIGTERM).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";

export interface Managed {
    readonly name: string;
    readonly pid: number;
    readonly log: string;
    /** Resolves with the exit code (or signal name) when the process ends. */
    readonly exited: Promise<number | string>;
    /** True once the process has ended. */
    hasExited(): boolean;
}

interface Entry extends Managed {
    readonly child: ChildProcess;
}

export interface StartOptions {
    readonly env?: NodeJS.ProcessEnv;
    readonly cwd?: string;
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

function groupAlive(pid: number): boolean {
    try {
        process.kill(-pid, 0);
        return true;
    } catch {
        return false;
    }
}

export class Supervisor {
    private readonly entries: Entry[] = [];
    private stopping: Promise<void> | undefined;

    constructor(private readonly logDir: string) {}

    /** Starts `command` in a new process group; its stdout and stderr go to <logDir>/<name>.log. */
    start(name: string, command: string, args: readonly string[], opts: StartOptions = {}): Managed {
        if (this.stopping) throw new Error(`not starting ${name}: the run is stopping`);
        const log = path.join(this.logDir, `${name}.log`);
        const fd = openSync(log, "a");
        const child = spawn(command, args, {
            cwd: opts.cwd,
            env: opts.env ?? process.env,
            stdio: ["ignore", fd, fd],
            detached: true, // setsid: its own process group, which stopAll signals as a whole
        });
        if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
        let done = false;
        const exited = new Promise<number | string>((resolve) => {
            child.on("exit", (code, signal) => {
                done = true;
                resolve(code ?? signal ?? "unknown");
            });
            child.on("error", (e) => {
                done = true;
                resolve(e.message);
            });
        });
        const entry: Entry = { name, pid: child.pid, log, exited, child, hasExited: () => done };
        this.entries.push(entry);
        return entry;
    }

    /** Ends every process group started here, newest first; bounded: `graceMs` per group, then SIGKILL. */
    stopAll(graceMs = 10_000): Promise<void> {
        this.stopping ??= (async () => {
            for (const e of [...this.entries].reverse()) {
                if (!groupAlive(e.pid)) continue;
                try {
                    process.kill(-e.pid, "SIGTERM");
                } catch {
                    continue;
                }
                const deadline = Date.now() + graceMs;
                while (groupAlive(e.pid) && Date.now() < deadline) await sleep(100);
                if (groupAlive(e.pid)) {
                    try {
                        process.kill(-e.pid, "SIGKILL");
                    } catch {
                        /* already gone */
                    }
                }
            }
        })();
        return this.stopping;
    }

    /** Last resort on process exit: SIGKILL to every group still alive (synchronous). */
    killAllNow(): void {
        for (const e of this.entries) {
            try {
                process.kill(-e.pid, "SIGKILL");
            } catch {
                /* already gone */
            }
        }
    }

    /** The last lines of a process's log, for a failure message. */
    static async tail(m: Managed, lines = 20): Promise<string> {
        try {
            const text = (await readFile(m.log, "utf8")).trimEnd().split("\n");
            return text.slice(-lines).join("\n");
        } catch {
            return "";
        }
    }
}
