/**
 * A stand-in `pulumi` executable for the tests of `make bootstrap`, `make destroy` and
 * `make upload-do`, and a temporary copy of the project to run them in.
 *
 * The stand-in (a small Go program, fake-pulumi/main.go, built once with the machine's Go: see
 * fakePulumiBinary) behaves like the real CLI (pulumi/pulumi v3.2xx) on exactly the points the
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
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
    cpSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readdirSync,
    readFileSync,
    renameSync,
    rmSync,
    symlinkSync,
    utimesSync,
    writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cacheFolder } from "../tools/lib/cache";

export const ROOT = join(__dirname, "..");

/**
 * The stand-in, test/fake-pulumi/*.go, built with Go once per content of those files into the
 * cache folder (as tools/envsubst/ensure-envsubst.sh does for its program): a Go process starts in
 * about 1 ms of CPU, a Node.js one in about 45 ms, and test/bootstrap.test.ts calls it ~100 times.
 */
let standIn: string | undefined;
export function fakePulumiBinary(): string {
    if (standIn !== undefined && existsSync(standIn)) return standIn;
    const srcDir = join(__dirname, "fake-pulumi");
    const sources = readdirSync(srcDir)
        .filter((f) => f.endsWith(".go"))
        .sort()
        .map((f) => ({ f, text: readFileSync(join(srcDir, f)) }));
    const hash = createHash("sha256");
    for (const { f, text } of sources) hash.update(`${f}\0`).update(text).update("\0");
    const sum = hash.digest("hex").slice(0, 16);
    const dir = join(cacheFolder(), "fake-pulumi", sum);
    const bin = join(dir, "pulumi");
    if (!existsSync(bin)) {
        const work = mkdtempSync(join(tmpdir(), "fake-pulumi-build-"));
        for (const { f, text } of sources) writeFileSync(join(work, f), text);
        writeFileSync(join(work, "go.mod"), "module fakepulumi\n\ngo 1.24\n");
        mkdirSync(dir, { recursive: true });
        const tmp = join(dir, `pulumi.${process.pid}.tmp`);
        const go = existsSync("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : "go";
        execFileSync(go, ["build", "-o", tmp, "."], {
            cwd: work,
            env: { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod", CGO_ENABLED: "0" },
            stdio: ["ignore", "ignore", "inherit"],
            timeout: 600_000,
        });
        renameSync(tmp, bin);
        rmSync(work, { recursive: true, force: true });
    }
    standIn = bin;
    return bin;
}

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
    symlinkSync(fakePulumiBinary(), join(bin, "pulumi"));
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
