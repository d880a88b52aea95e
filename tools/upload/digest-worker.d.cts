// Types of digest-worker.cjs (plain CommonJS so it runs as a worker file as it is).

/**
 * Per file, in order: its MD5 (16 bytes each), 1 if it may hold a Secret, and the size of the bytes
 * hashed.
 */
export declare function digestFiles(
    files: ReadonlyArray<{ readonly abs: string }>,
    needles: readonly string[],
): { md5: Buffer; candidate: Uint8Array; size: Float64Array };

/**
 * The worker's side: digests `data.files` and posts `{ md5, candidate, size }` (their buffers
 * transferred) or `{ error }` to `port`.
 */
export declare function answer(
    data: { readonly files: ReadonlyArray<{ readonly abs: string }>; readonly needles: readonly string[] },
    port: { postMessage(value: unknown, transfer?: ArrayBuffer[]): void },
): void;
