// The process-level entry: signals, exit code. main.ts calls it when run from
// source (tsx); the bundle bin/upload.cjs exports it for run.cjs (see build.cjs).
import { runUpload } from "./cli";

export function main(argv: readonly string[]): void {
    // The SDK warns on every run that releases after January 2027 need Node 22;
    // that is a note for the project's Node upgrade, not for each sync's output.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

    const controller = new AbortController();
    let interrupts = 0;
    const onSignal = () => {
        interrupts++;
        if (interrupts > 1) process.exit(130);
        process.stderr.write("\nstopping after the requests in flight (Ctrl-C again to quit at once)\n");
        controller.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);

    runUpload(argv, { signal: controller.signal }).then(
        (code) => {
            process.exitCode = code;
        },
        (err: unknown) => {
            process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
            process.exitCode = 1;
        },
    );
}
