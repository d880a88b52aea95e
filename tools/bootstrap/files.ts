import { randomBytes } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * Writes a file that only its owner may read (mode 0600) from its first byte: the content
 * goes into a new temporary file in the same folder, created exclusively with mode 0600
 * (umask can only remove bits) and chmod-ed to exactly 0600 before anything is written,
 * then renamed over `path`. A file already at `path`, whatever its mode, is replaced as a
 * whole and never holds the new content; a symlink there is replaced, not followed.
 */
export function writePrivateFile(path: string, content: string): void {
    const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
    const fd = openSync(tmp, "wx", 0o600);
    try {
        fchmodSync(fd, 0o600);
        writeSync(fd, content);
        fsyncSync(fd);
    } catch (e) {
        closeSync(fd);
        rmSync(tmp, { force: true });
        throw e;
    }
    closeSync(fd);
    try {
        renameSync(tmp, path);
    } catch (e) {
        rmSync(tmp, { force: true });
        throw e;
    }
}
