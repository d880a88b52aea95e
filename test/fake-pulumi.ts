/**
 * A stand-in `pulumi` executable for the tests of `make bootstrap`, `make destroy` and
 * `make upload-do`, and a temporary copy of the project to run them in.
 *
 * The stand-in behaves like the real CLI (pulumi/pulumi v3.2xx) on exactly the points the
 * tests rely on, and records every call (arguments, environment, working directory,
 * whether stdin/stdout were terminals) as one JSON line:
 * - the backend is `PULUMI_BACKEND_URL`, else the `current` login in
 *   `$PULUMI_HOME|~/.pulumi/credentials.json` (pkg/workspace/creds.go); `pulumi login URL`
 *   writes that file;
 * - a `file://` backend whose folder does not exist is refused, for every command, with the
 *   real message "unable to open bucket file://…?no_tmp_dir=true: stat …: no such file or
 *   directory" and exit code 255 (pkg/backend/diy/backend.go before v3.259);
 * - `up`, `refresh` and `destroy` refuse to run without `--yes`/`--skip-preview` unless
 *   stdin and stdout are terminals, `TERM` is not `dumb` and `--non-interactive` is not
 *   given (cmdutil.Interactive; backenderr.NoConfirmationInNonInteractiveError's message); on
 *   a terminal they print the preview and ask "Do you want to perform this update?";
 * - stacks live in `<folder>/.pulumi/stacks/<project>/<stack>.json`; `stack select --create`
 *   creates one; other commands on a missing stack fail with "no stack named '…' found";
 * - `up` stores the outputs given in `FAKE_PULUMI_OUTPUTS` (JSON; the names in
 *   `FAKE_PULUMI_SECRETS` are secrets); `stack output [NAME] [--json] [--show-secrets]` prints
 *   them, secrets as "[secret]" unless `--show-secrets`; `destroy` empties them.
 */
import {
    chmodSync,
    cpSync,
    mkdirSync,
    mkdtempSync,
    readFileSync,
    symlinkSync,
    utimesSync,
    writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const ROOT = join(__dirname, "..");

const SCRIPT = String.raw`#!/usr/bin/env node
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const argv = process.argv.slice(2);
const env = process.env;
fs.appendFileSync(
    env.FAKE_PULUMI_LOG,
    JSON.stringify({ argv, env, cwd: process.cwd(), stdinTTY: !!process.stdin.isTTY, stdoutTTY: !!process.stdout.isTTY }) + "\n",
);
function fail(msg) {
    process.stderr.write("error: " + msg + "\n");
    process.exit(255);
}
const has = (f) => argv.includes(f);
const opt = (...names) => {
    for (const n of names) {
        const i = argv.indexOf(n);
        if (i >= 0) return argv[i + 1];
    }
    return undefined;
};
if (argv[0] === "version") {
    console.log("v3.258.0");
    process.exit(0);
}
function openBackend(url) {
    if (!url.startsWith("file://")) fail("the stand-in serves file:// backends only, not " + url);
    const dir = url.slice("file://".length).replace(/\?.*$/, "");
    if (!fs.existsSync(dir)) {
        fail("unable to open bucket file://" + dir + "?no_tmp_dir=true: stat " + dir + ": no such file or directory");
    }
    return dir;
}
const home = env.PULUMI_HOME || path.join(env.HOME || "/nonexistent", ".pulumi");
const credentials = path.join(home, "credentials.json");
if (argv[0] === "login") {
    const url = argv[1];
    openBackend(url);
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(credentials, JSON.stringify({ current: url, accessTokens: {}, accounts: {} }));
    console.log("Logged in to stand-in as tester (" + url + ")");
    process.exit(0);
}
let url = env.PULUMI_BACKEND_URL;
if (!url && fs.existsSync(credentials)) url = JSON.parse(fs.readFileSync(credentials, "utf8")).current;
if (!url) fail("PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions");
const folder = openBackend(url);
const project = (/^name:\s*(\S+)/m.exec(fs.readFileSync("Pulumi.yaml", "utf8")) || [])[1];
const stackFile = (name) => path.join(folder, ".pulumi", "stacks", project, name + ".json");
const load = (name) => {
    if (!name) fail("no stack selected; please use pulumi stack select");
    if (!fs.existsSync(stackFile(name))) fail("no stack named '" + name + "' found");
    return JSON.parse(fs.readFileSync(stackFile(name), "utf8"));
};
const save = (name, state) => {
    fs.mkdirSync(path.dirname(stackFile(name)), { recursive: true });
    fs.writeFileSync(stackFile(name), JSON.stringify(state));
};
const interactive =
    !has("--non-interactive") && process.stdin.isTTY && process.stdout.isTTY && env.TERM !== "dumb";
function confirm(op) {
    const yes = has("--yes") || has("-y") || has("--skip-preview");
    if (yes) return;
    if (!interactive) {
        fail("--yes or --skip-preview or --preview-only must be passed in to proceed when running in non-interactive mode");
    }
    process.stdout.write("Previewing " + op + "\nDo you want to perform this " + op + "? ");
    const buf = Buffer.alloc(256);
    const n = fs.readSync(0, buf, 0, 256, null);
    if (buf.slice(0, n).toString().trim() !== "yes") fail("confirmation declined, not proceeding with the " + op);
}
const stack = opt("--stack", "-s");
const [cmd, sub] = argv;
if (cmd === "stack" && sub === "select") {
    const name = argv.slice(2).find((a) => !a.startsWith("-")) || stack;
    if (!fs.existsSync(stackFile(name))) {
        if (!has("--create")) fail("no stack named '" + name + "' found");
        save(name, { outputs: {}, secrets: [] });
        console.log("Created stack '" + name + "'");
    }
    process.exit(0);
}
if (cmd === "stack" && sub === "output") {
    const state = load(stack);
    const name = argv[2] && !argv[2].startsWith("-") ? argv[2] : undefined;
    const show = (k) => (state.secrets.includes(k) && !has("--show-secrets") ? "[secret]" : state.outputs[k]);
    if (name) {
        if (!(name in state.outputs)) fail("current stack does not have output property '" + name + "'");
        const v = show(name);
        process.stdout.write((typeof v === "string" ? v : JSON.stringify(v)) + "\n");
    } else {
        const all = {};
        for (const k of Object.keys(state.outputs)) all[k] = show(k);
        process.stdout.write(JSON.stringify(all, null, 2) + "\n");
    }
    process.exit(0);
}
if (cmd === "up" || cmd === "refresh" || cmd === "destroy") {
    const state = load(stack);
    confirm(cmd === "up" ? "update" : cmd);
    if (cmd === "up") {
        state.outputs = JSON.parse(env.FAKE_PULUMI_OUTPUTS || "{}");
        state.secrets = (env.FAKE_PULUMI_SECRETS || "").split(",").filter(Boolean);
    }
    if (cmd === "destroy") state.outputs = {};
    save(stack, state);
    console.log(cmd + " complete");
    process.exit(0);
}
fail("unknown command " + argv.join(" "));
`;

export interface PulumiCall {
    readonly argv: string[];
    readonly env: Record<string, string>;
    readonly cwd: string;
    readonly stdinTTY: boolean;
    readonly stdoutTTY: boolean;
}

export interface FakeProject {
    /** The project copy: make runs here. */
    readonly dir: string;
    /** HOME for the run, so `~/.pulumi` is the test's own. */
    readonly home: string;
    /** Environment with the stand-in first on PATH and fake credentials. */
    readonly env: NodeJS.ProcessEnv;
    /** Every recorded call, in order. */
    calls(): PulumiCall[];
}

/** Fake credentials: present so the preflight passes; nothing is ever sent anywhere. */
export const FAKE_CREDENTIALS = {
    DIGITALOCEAN_TOKEN: "fake-do-token",
    SPACES_ACCESS_KEY_ID: "fake-spaces-id",
    SPACES_SECRET_ACCESS_KEY: "fake-spaces-secret",
    GITHUB_TOKEN: "fake-github-token",
    PULUMI_CONFIG_PASSPHRASE: "fake-passphrase",
};

export const STACK_FILE = `config:
  do-gitops-platform:webhook:
    host: flux.example.com
  do-gitops-platform:acme:
    email: ops@example.com
    termsAccepted: true
`;

/**
 * A temporary copy of the project (Makefile, Pulumi.yaml, package files; tools/, deploy/ and
 * node_modules/ linked) with the stand-in `pulumi` on PATH. package.json and the lockfile are
 * dated in the past so make never re-runs `npm ci` through the linked node_modules/.
 */
export function fakeProject(stackFile: string = STACK_FILE): FakeProject {
    const dir = mkdtempSync(join(tmpdir(), "boot-project-"));
    const home = mkdtempSync(join(tmpdir(), "boot-home-"));
    const bin = mkdtempSync(join(tmpdir(), "boot-bin-"));
    const log = join(bin, "calls.jsonl");
    writeFileSync(log, "");
    writeFileSync(join(bin, "pulumi"), SCRIPT);
    chmodSync(join(bin, "pulumi"), 0o755);
    const past = new Date("2001-01-01T00:00:00Z");
    for (const f of ["Makefile", "Pulumi.yaml", "package.json", "package-lock.json", "tsconfig.json"]) {
        cpSync(join(ROOT, f), join(dir, f));
        utimesSync(join(dir, f), past, past);
    }
    for (const d of ["tools", "node_modules", "infrastructure", "components"]) symlinkSync(join(ROOT, d), join(dir, d));
    mkdirSync(join(dir, "deploy"));
    writeFileSync(
        join(dir, "deploy", "kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
    );
    writeFileSync(join(dir, "Pulumi.dev.yaml"), stackFile);
    const env: NodeJS.ProcessEnv = {
        PATH: [bin, dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(":"),
        HOME: home,
        FAKE_PULUMI_LOG: log,
        ...FAKE_CREDENTIALS,
    };
    return {
        dir,
        home,
        env,
        calls: () =>
            readFileSync(log, "utf8")
                .split("\n")
                .filter(Boolean)
                .map((l) => JSON.parse(l) as PulumiCall),
    };
}
