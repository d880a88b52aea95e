/**
 * The root sync's defaults and the pieces every Kustomization of the stack shares
 * (components/flux/sync.ts, settings.ts), against what users read and what Flux expects:
 * README's configuration table, kustomize-controller's SOPS conventions, Flux's variable names.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { exampleSettings, PLATFORM_VARIABLES, VARIABLE_NAME } from "../components/flux/settings";
import { sopsAgeSecret, sopsDecryption, treeSettings } from "../components/flux/sync";
import { FluxSync } from "../components/flux-sync";
import { containsSecret, inputValue, reveal, runComponent } from "./harness";

const source = {
    bucketName: "gitops",
    endpointHost: "fra1.digitaloceanspaces.com",
    region: "fra1",
    accessKeyId: "ID",
    secretAccessKey: "SECRET",
};

/** `flux.<key>` defaults of README's configuration table (the second column, without backticks). */
function readmeDefaults(): Record<string, string> {
    const readme = readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
    const out: Record<string, string> = {};
    for (const m of readme.matchAll(/^\| `flux\.([a-zA-Z]+)`\s*\| `([^`]*)`\s*\|/gm)) out[m[1]!] = m[2]!;
    return out;
}

describe("the root sync's defaults are README's (flux.* in the configuration table)", () => {
    test("path, sourceInterval, interval, retryInterval, timeout, wait", async () => {
        const readme = readmeDefaults();
        for (const k of ["path", "sourceInterval", "interval", "retryInterval", "timeout", "wait"])
            assert.ok(k in readme, `README documents flux.${k}`);
        const { recorder } = await runComponent(() => new FluxSync("s", { source }));
        const k = recorder.kubeObject("Kustomization", "flux-system").spec;
        const b = recorder.kubeObject("Bucket", "flux-system").spec;
        assert.deepEqual(
            {
                path: k.path,
                sourceInterval: b.interval,
                interval: k.interval,
                retryInterval: k.retryInterval,
                timeout: k.timeout,
                wait: String(k.wait),
            },
            {
                path: readme.path,
                sourceInterval: readme.sourceInterval,
                interval: readme.interval,
                retryInterval: readme.retryInterval,
                timeout: readme.timeout,
                wait: readme.wait,
            },
        );
        assert.equal(k.prune, true);
        assert.equal(k.decryption, undefined, "no age identity, no decryption");
    });
});

describe("SOPS with kustomize-controller's conventions", () => {
    // kustomize-controller: `spec.decryption.provider: sops`, and every data key of the referenced
    // Secret ending in `.agekey` is an age identity file.
    test("decryption names the sops provider and the sops-age Secret", () => {
        assert.deepEqual(sopsDecryption(), { provider: "sops", secretRef: { name: "sops-age" } });
    });

    test("the Secret holds the identity as an .agekey file (a line of its own), secret, labelled part of Flux", async () => {
        const { recorder } = await runComponent(() => sopsAgeSecret("key", "gitops", "AGE-SECRET-KEY-1XYZ", {}));
        const s = recorder.kube("Secret")[0]!;
        const obj = reveal<any>(s.inputs);
        assert.deepEqual(obj.metadata, {
            name: "sops-age",
            namespace: "gitops",
            labels: { "app.kubernetes.io/part-of": "flux" },
        });
        assert.equal(obj.type, "Opaque");
        const keys = Object.keys(obj.stringData);
        assert.deepEqual(keys, ["age.agekey"]);
        assert.ok(keys[0]!.endsWith(".agekey"));
        assert.equal(obj.stringData["age.agekey"], "AGE-SECRET-KEY-1XYZ\n");
        assert.ok(containsSecret(s.inputs.stringData), "a secret even when given as plain text");
    });

    test("with an age identity the root Kustomization decrypts and the FluxSync creates the Secret", async () => {
        const { recorder, value } = await runComponent(
            () => new FluxSync("s", { source, sopsAgeIdentity: "AGE-SECRET-KEY-1XYZ", namespace: "gitops" }),
        );
        assert.deepEqual(recorder.kubeObject("Kustomization", "flux-system").spec.decryption, {
            provider: "sops",
            secretRef: { name: "sops-age" },
        });
        assert.equal(recorder.kubeObject("Secret", "sops-age").metadata.namespace, "gitops");
        assert.ok(value.sopsAgeSecret);
        assert.equal(await inputValue(value.namespace), "gitops");
    });
});

describe("the tree's variables (Flux's varsubRegex, fluxcd/pkg/kustomize: ^[_[:alpha:]][_[:alpha:][:digit:]]*$)", () => {
    test("names Flux accepts and refuses", () => {
        for (const ok of ["a", "_", "_a1", "cluster_name", "A9_b"]) assert.ok(VARIABLE_NAME.test(ok), ok);
        for (const bad of ["", "1a", "a-b", "a.b", " a", "a ", "a\nb", "é"])
            assert.ok(!VARIABLE_NAME.test(bad), JSON.stringify(bad));
    });

    test("every value the stack sets has a Flux name; flux_namespace and quote are always set, quote to a double quote", () => {
        assert.deepEqual(treeSettings("gitops", { settings: { cluster_name: "blue" } }), {
            cluster_name: "blue",
            flux_namespace: "gitops",
            quote: '"',
        });
        assert.throws(
            () => treeSettings("gitops", { settings: { "cluster-name": "x", ok: "y", "2x": "z" } }),
            (e: Error) => e.message.endsWith(": cluster-name, 2x") && e.message.startsWith("settings names must match"),
        );
        for (const name of Object.keys(PLATFORM_VARIABLES)) assert.ok(VARIABLE_NAME.test(name), name);
    });

    test("README's table of the stack's values lists exactly these variables, each from the source its meaning names", () => {
        const readme = readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
        const rows = new Map(
            [...readme.matchAll(/^\| `\$\{([a-z_]+)\}`\s*\| (.*?)\s*\|$/gm)].map((m) => [m[1]!, m[2]!] as const),
        );
        assert.deepEqual([...rows.keys()].sort(), Object.keys(PLATFORM_VARIABLES).sort());
        for (const [name, { meaning }] of Object.entries(PLATFORM_VARIABLES)) {
            // the first code span of README's cell: the config key (`cluster.name`…) or the quote character
            const source = /`([^`]+)`/.exec(rows.get(name)!)![1]!;
            assert.ok(meaning.includes(source), `${name}: ${JSON.stringify(meaning)} names ${source}`);
        }
    });

    test("make validate's example values: one per variable, the documented example", () => {
        const examples = exampleSettings();
        assert.deepEqual(Object.keys(examples).sort(), Object.keys(PLATFORM_VARIABLES).sort());
        assert.equal(examples.flux_namespace, "flux-system");
        assert.equal(examples.quote, '"');
        assert.equal(examples.cluster_region, "fra1");
    });
});
