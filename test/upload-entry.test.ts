// The process-level entry of the sync tool (tools/upload/entry.ts main), in this process: the exit
// code it sets, and what Ctrl-C / SIGTERM do (docs/upload.md "Ctrl-C and SIGTERM": the first stops
// scheduling and lets the requests in flight finish within 10 s, the second aborts them and exits
// 130 a second later at the latest, a third exits at once). The signals are delivered to the
// handlers main adds, process.exit is recorded instead of run, and the tool's output is collected
// where it prints (processIo); the bucket is the in-memory one behind a loopback HTTP server. (upload-failures runs the built
// command in a child process with a real SIGINT; a mutation run cannot see into a child.)
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, test } from "node:test";
import { USAGE } from "../tools/upload/config";
import { main } from "../tools/upload/entry";
import { processIo } from "../tools/upload/progress";
import { makeTree } from "./helpers-s3";
import { type FakeHttpS3, startFakeHttpS3 } from "./upload-fake-http";

let s3: FakeHttpS3;
before(async () => {
    s3 = await startFakeHttpS3();
});
after(async () => {
    await s3.close();
});

/**
 * Runs `body` with the tool's output collected (processIo, which runUpload prints through, and
 * stderr, where main writes its own lines; stdout itself is left alone: the test runner reports
 * on it), process.exit recorded, the signal handlers main adds removed afterwards, and the exit
 * code and environment restored.
 */
async function inProcess(body: (seen: { out: string; err: string; exits: number[] }) => Promise<void>) {
    const seen = { out: "", err: "", exits: [] as number[] };
    const io = { out: processIo.out, err: processIo.err };
    const stderrWrite = process.stderr.write;
    const exit = process.exit;
    const listeners = { SIGINT: process.listeners("SIGINT"), SIGTERM: process.listeners("SIGTERM") };
    const env = { ...process.env };
    processIo.out = (line) => {
        seen.out += `${line}\n`;
    };
    processIo.err = (line) => {
        seen.err += `${line}\n`;
    };
    process.stderr.write = ((chunk: string | Uint8Array) => {
        seen.err += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
        return true;
    }) as typeof process.stderr.write;
    process.exit = ((code?: number) => {
        seen.exits.push(code ?? 0);
    }) as typeof process.exit;
    try {
        await body(seen);
    } finally {
        processIo.out = io.out;
        processIo.err = io.err;
        process.stderr.write = stderrWrite;
        process.exit = exit;
        for (const signal of ["SIGINT", "SIGTERM"] as const)
            for (const l of process.listeners(signal))
                if (!listeners[signal].includes(l)) process.removeListener(signal, l as () => void);
        for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
        Object.assign(process.env, env);
        process.exitCode = undefined;
    }
}

/** The exit code main sets when the run returns (bounded wait). */
async function exitCode(): Promise<number | string | undefined> {
    for (let i = 0; i < 3000 && process.exitCode === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    return process.exitCode ?? undefined;
}

test("the run's result is the exit code: 0 after --help, 2 for a usage error, 1 when the run throws", async () => {
    await inProcess(async (seen) => {
        process.env.AWS_ACCESS_KEY_ID = "AKIDEXAMPLE";
        process.env.AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        process.exitCode = undefined;
        main(["--help"]);
        assert.equal(await exitCode(), 0);
        assert.equal(seen.out, `${USAGE}\n`);
        process.exitCode = undefined;
        main(["--bukket"]);
        assert.equal(await exitCode(), 2);
        assert.match(seen.err, /^error: Unknown option '--bukket'/);
        // an error the run does not handle, here stdout gone (EPIPE) at the first line: its message, exit 1
        process.exitCode = undefined;
        seen.err = "";
        processIo.out = () => {
            throw Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
        };
        main(["--bucket", "b", "--endpoint", "http://127.0.0.1:9", "--source", "/nonexistent", "--no-trigger"]);
        assert.equal(await exitCode(), 1);
        assert.equal(seen.err, "error: write EPIPE\n");
        assert.deepEqual(seen.exits, []);
    });
});

test("Ctrl-C: the first stops scheduling and waits, the second aborts the requests in flight, a third exits at once", async () => {
    const src = await makeTree({ "a.yaml": "a: 1\n", "b.yaml": "b: 2\n" });
    try {
        await inProcess(async (seen) => {
            process.env.AWS_ACCESS_KEY_ID = "AKIDEXAMPLE";
            process.env.AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
            const signals: string[] = [];
            let deliver: (signal: "SIGINT" | "SIGTERM") => void = () => assert.fail("main has not started");
            let secondAt = 0;
            let exitsAtSecond: number[] | undefined;
            s3.bucket.hook = async (req) => {
                if (req.method !== "PUT") return undefined;
                signals.push("SIGINT");
                deliver("SIGINT");
                await new Promise((r) => setTimeout(r, 100));
                signals.push("SIGTERM");
                deliver("SIGTERM");
                secondAt = Date.now();
                exitsAtSecond = [...seen.exits];
                await new Promise((r) => setTimeout(r, 1_500));
                return undefined;
            };
            process.exitCode = undefined;
            const others = { SIGINT: process.listeners("SIGINT"), SIGTERM: process.listeners("SIGTERM") };
            main(["--source", src, "--bucket", "bk", "--endpoint", s3.endpoint, "--no-trigger", "--concurrency", "1"]);
            // main's own handlers (a test runner may have its own, which would end this process)
            const mains = (signal: "SIGINT" | "SIGTERM") =>
                process.listeners(signal).filter((l) => !others[signal].includes(l)) as Array<(s: string) => void>;
            assert.equal(mains("SIGINT").length, 1);
            assert.equal(mains("SIGTERM").length, 1);
            deliver = (signal) => {
                for (const l of mains(signal)) l(signal);
            };
            assert.equal(await exitCode(), 130);
            assert.deepEqual(signals, ["SIGINT", "SIGTERM"]);
            assert.ok(
                seen.err.startsWith(
                    "\nstopping: no new requests; waiting up to 10 s for the ones in flight (Ctrl-C again to abort them)\n" +
                        "\naborting the requests in flight\n",
                ),
                seen.err,
            );
            assert.match(seen.err, /1 request\(s\) in flight were cut off by the second Ctrl-C/);
            assert.equal(s3.bucket.objects.size, 0);
            assert.match(seen.out, /\nuploaded 0, deleted 0, unchanged 0\n$/);
            // the second signal also ends the process one second later if the run hangs
            assert.deepEqual(exitsAtSecond, [], "not at once");
            await new Promise((r) => setTimeout(r, Math.max(0, secondAt + 1_200 - Date.now())));
            assert.deepEqual(seen.exits, [130]);
            deliver("SIGINT");
            assert.deepEqual(seen.exits, [130, 130], "a third signal exits at once");
        });
    } finally {
        s3.bucket.hook = undefined;
        await rm(src, { recursive: true, force: true });
    }
});
