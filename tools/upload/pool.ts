/** Runs `fn` over `items` with at most `limit` calls in flight; stops scheduling once `signal` aborts. */
export async function forEachLimit<T>(
    items: readonly T[],
    limit: number,
    fn: (item: T, index: number) => Promise<void>,
    signal?: AbortSignal,
): Promise<void> {
    let next = 0;
    const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
        while (next < items.length && !signal?.aborted) {
            const i = next++;
            await fn(items[i]!, i);
        }
    });
    await Promise.all(workers);
}
