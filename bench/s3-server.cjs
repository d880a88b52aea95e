// The local S3 server of bench/sync.ts, in a process of its own so the
// benchmark's own work never shares its event loop. Started with fork() (IPC):
//
//   → parent  { type: "ready", port, dir }
//   ← parent  { type: "counts", id, bucket }   → { type: "counts", id, counts, connections, cpuMs }
//             requests seen for that bucket since the last "counts" ({ METHOD: n }),
//             TCP connections accepted and the server's CPU time meanwhile; then reset
//   ← parent  { type: "settle", id }           full GC (started with --expose-gc) → { type: "settled", id }
//   ← parent  { type: "stop" }                 closes, removes its folder, exits
//
// s3rver 3.7.1 with `silent: true` (no per-request log output) and its storage
// on tmpfs (/dev/shm when present; env S3_BENCH_STORAGE overrides), so neither
// logging nor disk writes are measured. Loopback only.
//
// Start it with `node --openssl-legacy-provider` (bench/sync.ts and the tests'
// helpers-s3.ts do): s3rver encrypts its ListObjectsV2 continuation tokens with
// DES, which OpenSSL 3 only offers through the legacy provider, so without it
// every listing of more than 1,000 keys fails with ERR_OSSL_EVP_UNSUPPORTED.
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const KIND = process.env.S3_BENCH_SERVER === "fauxqs" ? "fauxqs" : "s3rver";
const base = process.env.S3_BENCH_STORAGE || (fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir());
const dir = KIND === "s3rver" ? fs.mkdtempSync(path.join(base, "s3rver-bench-")) : undefined;

/**
 * The server as { httpServer, run(): Promise<{ port }>, close(): Promise }.
 * fauxqs: its Fastify app (buildApp) listening on 127.0.0.1 (its own startFauxqs
 * would listen on every interface), every object in memory, no request log.
 */
function makeServer() {
    if (KIND === "s3rver") {
        const S3rver = require("s3rver");
        return new S3rver({ address: "127.0.0.1", port: 0, directory: dir, silent: true });
    }
    let app;
    return {
        get httpServer() {
            return app.server;
        },
        async run() {
            const { buildApp } = await import("fauxqs");
            app = buildApp({ logger: false });
            await app.listen({ port: 0, host: "127.0.0.1" });
            return { port: app.server.address().port };
        },
        close: () => app.close(),
    };
}
const server = makeServer();

/** bucket → method → requests */
let counts = new Map();
let connections = 0;
let cpu = process.cpuUsage();

function cleanup() {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

server.run().then(
    (addr) => {
        server.httpServer.prependListener("request", (req) => {
            const bucket = (req.url ?? "").split(/[/?]/)[1] ?? "";
            let byMethod = counts.get(bucket);
            if (!byMethod) {
                byMethod = {};
                counts.set(bucket, byMethod);
            }
            byMethod[req.method] = (byMethod[req.method] ?? 0) + 1;
        });
        server.httpServer.on("connection", () => connections++);
        process.send({ type: "ready", port: addr.port, dir });
    },
    (err) => {
        process.stderr.write(`${KIND} failed to start: ${err.message}\n`);
        cleanup();
        process.exit(1);
    },
);

process.on("message", (msg) => {
    if (msg.type === "counts") {
        const used = process.cpuUsage(cpu);
        process.send({
            type: "counts",
            id: msg.id,
            counts: counts.get(msg.bucket) ?? {},
            connections,
            cpuMs: (used.user + used.system) / 1000,
        });
        counts = new Map();
        connections = 0;
        cpu = process.cpuUsage();
    } else if (msg.type === "settle") {
        // the garbage of the warm-up is collected now, not during a measured run
        global.gc?.();
        process.send({ type: "settled", id: msg.id });
    } else if (msg.type === "stop") {
        server.httpServer.closeAllConnections();
        server.close().finally(() => {
            cleanup();
            process.exit(0);
        });
    }
});
// the benchmark went away: do not linger
process.on("disconnect", () => {
    cleanup();
    process.exit(0);
});
