// The worker's side of the hashing pass (tools/upload/digest-worker.cjs `answer`, run in this
// thread with a real MessageChannel), and what the file does when some other thread imports it.
// digestAll's results, in this thread and in a worker, are test/upload-digest.test.ts's.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { getEventListeners } from "node:events";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import { answer } from "../tools/upload/digest-worker.cjs";
import { digestInWorker } from "../tools/upload/sync";

const WORKER_FILE = path.join(__dirname, "..", "tools", "upload", "digest-worker.cjs");

const root = mkdtempSync(path.join(os.tmpdir(), "upload-digest-worker-"));
after(() => rmSync(root, { recursive: true, force: true }));

function file(name: string, body: string): { abs: string } {
    const abs = path.join(root, name);
    writeFileSync(abs, body);
    return { abs };
}

/** Calls answer with a port that forwards to a real MessageChannel; returns what was sent and what arrived. */
function call(data: Parameters<typeof answer>[0]): { sent: unknown; received: unknown } {
    const { port1, port2 } = new MessageChannel();
    let sent: unknown;
    try {
        answer(data, {
            postMessage(value, transfer) {
                sent = value;
                port1.postMessage(value, transfer);
            },
        });
        const received = receiveMessageOnPort(port2)?.message;
        assert.equal(receiveMessageOnPort(port2), undefined, "one message only");
        return { sent, received };
    } finally {
        port1.close();
        port2.close();
    }
}

const md5 = (body: string) => createHash("md5").update(body).digest();

describe("upload digest worker: its answer", () => {
    test("the MD5, candidate mark and size of every file, its buffers moved to the receiver (not copied)", () => {
        const bodies = ["kind: ConfigMap\n", "kind: Secret\n", ""];
        const files = bodies.map((b, i) => file(`a-${i}.yaml`, b));
        const { sent, received } = call({ files, needles: ["Secret"] });
        const got = received as { md5: Uint8Array; candidate: Uint8Array; size: Float64Array };
        assert.deepEqual(Buffer.from(got.md5), Buffer.concat(bodies.map(md5)));
        assert.deepEqual([...got.candidate], [0, 1, 0]);
        assert.deepEqual(
            [...got.size],
            bodies.map((b) => b.length),
        );
        // transferred: the sender's views are detached (length 0), so the worker keeps nothing
        const s = sent as { md5: Buffer; candidate: Uint8Array; size: Float64Array };
        assert.deepEqual([s.md5.buffer.byteLength, s.candidate.buffer.byteLength, s.size.buffer.byteLength], [0, 0, 0]);
    });

    test("a file that cannot be read: one message with the system's error, no digests", () => {
        const gone = path.join(root, "gone.yaml");
        const { received } = call({ files: [file("ok.yaml", "a: 1\n"), { abs: gone }], needles: [] });
        assert.deepEqual(received, { error: `ENOENT: no such file or directory, open '${gone}'` });
    });

    test("whatever is thrown, even no Error, the answer is an error message", () => {
        const data = {
            get files(): { abs: string }[] {
                throw "not an Error object";
            },
            needles: [],
        };
        assert.deepEqual(call(data).received, { error: "not an Error object" });
    });
});

describe("upload digest worker: imported by another thread", () => {
    /** Runs a worker that only requires the file, with `workerData`; its messages and exit code. */
    async function importIn(workerData: unknown): Promise<{ messages: unknown[]; code: number }> {
        const worker = new Worker(`require(${JSON.stringify(WORKER_FILE)});`, {
            eval: true,
            workerData,
            execArgv: [],
        });
        const messages: unknown[] = [];
        worker.on("message", (m) => messages.push(m));
        const code = await new Promise<number>((resolve, reject) => {
            worker.once("error", reject);
            worker.once("exit", resolve);
        });
        return { messages, code };
    }

    test("a worker thread that is not digestInWorker's (no digestFiles: true) gets no answer", async () => {
        const files = [file("b.yaml", "b: 1\n")];
        for (const workerData of [undefined, { files, needles: [] }, { digestFiles: "true", files, needles: [] }]) {
            assert.deepEqual(await importIn(workerData), { messages: [], code: 0 }, JSON.stringify(workerData));
        }
        // the same file with digestInWorker's workerData answers (the check above can fail)
        const asked = await importIn({ digestFiles: true, files, needles: [] });
        assert.equal(asked.code, 0);
        assert.deepEqual(
            asked.messages.map((m) => Buffer.from((m as { md5: Uint8Array }).md5)),
            [md5("b: 1\n")],
        );
    });
});

describe("upload digest worker: a hashing thread that fails (digestInWorker)", () => {
    /** A worker file with `code` (CommonJS), in the test's folder. */
    const workerFile = (name: string, code: string) => file(`${name}.cjs`, code).abs;
    const listeners = (signal: AbortSignal) => getEventListeners(signal, "abort").length;

    test("its answer, its error, or its end without an answer ends the call; the stop signal keeps no listener", async () => {
        const files = [{ rel: "c.yaml", ...file("c.yaml", "c: 1\n") }];
        const cases: Array<[string, string, RegExp | undefined]> = [
            ["the real worker", WORKER_FILE, undefined],
            [
                "an answer with an error",
                workerFile(
                    "answers-error",
                    'require("node:worker_threads").parentPort.postMessage({ error: "EACCES: c.yaml" });',
                ),
                /^EACCES: c\.yaml$/,
            ],
            ["an exception", workerFile("throws", 'throw new Error("the thread broke");'), /^the thread broke$/],
            [
                "an end without an answer",
                workerFile("exits", "process.exit(3);"),
                /^the hashing thread ended \(exit code 3\) before it answered$/,
            ],
        ];
        for (const [what, worker, error] of cases) {
            const stop = new AbortController();
            const call = digestInWorker(files, [], stop.signal, worker);
            assert.equal(listeners(stop.signal), 1, what);
            if (error) await assert.rejects(call, { message: error }, what);
            else assert.deepEqual(Buffer.from((await call).md5), md5("c: 1\n"), what);
            assert.equal(listeners(stop.signal), 0, `${what}: no listener left on the stop signal`);
        }
    });

    test("a stop while the thread works: an AbortError (hashing stopped), no listener left; stopped before: no thread", async () => {
        const started = path.join(root, "started");
        const hangs = workerFile(
            "hangs",
            `require("node:fs").writeFileSync(${JSON.stringify(started)}, ""); setInterval(() => {}, 1000);`,
        );
        const stop = new AbortController();
        const call = digestInWorker([], [], stop.signal, hangs);
        for (let i = 0; i < 400 && !existsSync(started); i++) await new Promise((r) => setTimeout(r, 10));
        assert.ok(existsSync(started), "the thread runs");
        stop.abort();
        await assert.rejects(call, { name: "AbortError", message: "hashing stopped" });
        assert.equal(listeners(stop.signal), 0);
        // stopped before: no thread at all, the same error
        await assert.rejects(digestInWorker([], [], stop.signal, hangs), {
            name: "AbortError",
            message: "hashing stopped",
        });
    });
});
