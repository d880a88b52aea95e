// Entry point of `npm run seal` / `make seal` (see seal.ts).
import { runSeal } from "./seal";

runSeal(process.argv.slice(2)).then(
    (code) => {
        process.exitCode = code;
    },
    (err: unknown) => {
        process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
    },
);
