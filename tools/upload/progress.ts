// Progress output: a bar on a terminal, one plain line per action otherwise.
import type cliProgress from "cli-progress";
import type { Reporter, SyncPlan, UploadItem } from "./sync";

export interface Io {
    out(line: string): void;
    err(line: string): void;
    /** a terminal: draw a progress bar (on stderr) */
    isTTY: boolean;
}

export const processIo: Io = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    isTTY: Boolean(process.stderr.isTTY && process.stdout.isTTY),
};

export function formatBytes(n: number): string {
    if (n < 1024) return `${n} B`;
    const units = ["KiB", "MiB", "GiB", "TiB"];
    let v = n / 1024;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** Progress lines on a pipe are written at least this often, */
const FLUSH_MS = 200;
/** or once this many are waiting. */
const FLUSH_LINES = 256;

export function createReporter(io: Io): Reporter {
    if (!io.isTTY) {
        // One line per object, written in batches: stdout to a pipe is a synchronous write on
        // Linux, and one write per object was the largest single cost of a 10,000-file upload
        // in the CPU profile (see docs/upload.md). Flushed every FLUSH_MS, at FLUSH_LINES lines,
        // before every stderr line (so the two streams keep their order) and at the end.
        let pending: string[] = [];
        let timer: NodeJS.Timeout | undefined;
        const flush = () => {
            if (timer) clearTimeout(timer);
            timer = undefined;
            if (pending.length === 0) return;
            const text = pending.join("\n");
            pending = [];
            io.out(text);
        };
        const line = (text: string) => {
            pending.push(text);
            if (pending.length >= FLUSH_LINES) flush();
            else timer ??= setTimeout(flush, FLUSH_MS);
        };
        return {
            start: () => undefined,
            uploaded: (item: UploadItem) => line(`upload ${item.key} (${item.reason}, ${formatBytes(item.file.size)})`),
            deleted: (key: string) => line(`delete ${key}`),
            failed: (key: string, message: string) => {
                flush();
                io.err(`failed ${key}: ${message}`);
            },
            waiting: (message: string) => {
                flush();
                io.err(message);
            },
            stop: flush,
        };
    }
    const failures: string[] = [];
    let bar: cliProgress.SingleBar | undefined;
    let bytes = 0;
    return {
        start(plan: SyncPlan) {
            const total = plan.uploads.length + plan.deletes.length;
            if (total === 0) return;
            // loaded only when a bar is drawn: runs in pipes, CI and the benchmark never pay for it
            const { SingleBar, Presets } = require("cli-progress") as typeof cliProgress;
            bar = new SingleBar(
                {
                    stream: process.stderr,
                    format: "syncing [{bar}] {value}/{total} objects | {sent} sent | {eta_formatted} left{note}",
                    hideCursor: true,
                    clearOnComplete: true,
                    etaBuffer: 50,
                },
                Presets.shades_classic,
            );
            bar.start(total, 0, { sent: formatBytes(0), note: "" });
        },
        uploaded(item: UploadItem) {
            bytes += item.file.size;
            bar?.increment(1, { sent: formatBytes(bytes), note: "" });
        },
        waiting(message: string) {
            if (bar) bar.update({ note: ` | ${message}` });
            else io.err(message);
        },
        deleted() {
            bar?.increment(1);
        },
        failed(key: string, message: string) {
            failures.push(`failed ${key}: ${message}`);
            bar?.increment(1);
        },
        stop() {
            bar?.stop();
            for (const f of failures) io.err(f);
        },
    };
}
