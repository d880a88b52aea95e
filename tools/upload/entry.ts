// The process-level entry: signals, exit code. main.ts calls it when run from
// source (tsx); the bundle bin/upload.cjs exports it for run.cjs (see build.cjs).
import { DEFAULT_GRACE_MS, runUpload } from "./cli";

export function main(argv: readonly string[]): void {
    // First Ctrl-C (or SIGTERM): stop scheduling, let the requests in flight
    // finish (at most DEFAULT_GRACE_MS), print the summary, exit 130. Second:
    // abort the requests in flight at once; if the run still has not returned
    // shortly after, exit anyway.
    const stop = new AbortController();
    const hard = new AbortController();
    let interrupts = 0;
    const onSignal = () => {
        interrupts++;
        if (interrupts === 1) {
            process.stderr.write(
                `\nstopping: no new requests; waiting up to ${DEFAULT_GRACE_MS / 1000} s for the ones in flight (Ctrl-C again to abort them)\n`,
            );
            stop.abort();
            return;
        }
        if (interrupts === 2) {
            process.stderr.write("\naborting the requests in flight\n");
            hard.abort();
            setTimeout(() => process.exit(130), 1_000).unref();
            return;
        }
        process.exit(130);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);

    runUpload(argv, { signal: stop.signal, abortSignal: hard.signal }).then(
        (code) => {
            process.exitCode = code;
        },
        (err: unknown) => {
            process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
            process.exitCode = 1;
        },
    );
}
