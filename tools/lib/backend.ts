/**
 * The Pulumi state backend every tool of this project uses, passed to each `pulumi` call
 * through `PULUMI_BACKEND_URL` in that call's environment.
 *
 * The tools never run `pulumi login`: it writes the user's global `~/.pulumi/credentials.json`
 * and so would switch every other project on the machine to this one's backend. The CLI
 * reads `PULUMI_BACKEND_URL` before the project's `backend.url` and before the stored login
 * (pulumi/pulumi pkg/workspace/creds.go, GetCurrentCloudURLWithSource), so setting it per call
 * is enough and changes nothing outside the call.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The local state folder, relative to the project root (git-ignored). */
export const LOCAL_STATE_DIR = ".pulumi-state";

/** `PULUMI_BACKEND_URL` when set, else the local file backend in `<root>/.pulumi-state`. */
export function backendUrl(root: string, env: NodeJS.ProcessEnv): string {
    return env.PULUMI_BACKEND_URL || `file://${join(root, LOCAL_STATE_DIR)}`;
}

/**
 * The folder of a `file://` backend URL, or undefined for any other backend. Query
 * parameters (e.g. `?no_tmp_dir=false`) are not part of the folder.
 */
export function localStateFolder(url: string): string | undefined {
    if (!url.startsWith("file://")) return undefined;
    const rest = url.slice("file://".length).replace(/\?.*$/, "");
    if (rest.startsWith("~")) return join(process.env.HOME ?? "", rest.slice(1));
    return rest.startsWith("/") ? fileURLToPath(`file://${rest}`) : rest;
}

/**
 * Creates the folder of a `file://` backend when it is missing: the CLI refuses to open a
 * folder that does not exist ("unable to open bucket file://…: no such file or directory").
 * Mode 0700: the state holds the stack's (encrypted) secrets and resource details.
 */
export function ensureLocalState(url: string): void {
    const folder = localStateFolder(url);
    if (folder && !existsSync(folder)) mkdirSync(folder, { recursive: true, mode: 0o700 });
}

/** The environment of every `pulumi` call: the caller's, with the backend set. */
export function pulumiEnv(root: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return { ...env, PULUMI_BACKEND_URL: backendUrl(root, env), PULUMI_SKIP_UPDATE_CHECK: "true" };
}
