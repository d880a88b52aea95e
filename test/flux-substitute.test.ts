/**
 * `make validate`'s post-build substitution (components/flux/substitute.ts) against the rules
 * Flux documents for it (fluxcd.io, Kustomization "Post build variable substitution", and
 * fluxcd/pkg/envsubst, bash's parameter expansion): `${var:-default}` / `${var:=default}` use
 * the default when the variable is unset or empty, `${var-default}` / `${var=default}` only
 * when it is unset, `$${var}` is a literal `${var}`, an unset variable without a default
 * becomes the empty string, and a label or annotation
 * `kustomize.toolkit.fluxcd.io/substitute: disabled` opts an object out.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the texts are Flux substitution expressions, not templates
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { substituteText, substitutionDisabled } from "../components/flux/substitute";

const VARS = { set: "x", empty: "" };

describe("post-build substitution (bash parameter expansion, as fluxcd/pkg/envsubst)", () => {
    test("a set variable is replaced; an unset one becomes empty and is reported", () => {
        assert.deepEqual(substituteText("a=${set}.", VARS), { text: "a=x.", missing: [] });
        assert.deepEqual(substituteText("a=${empty}.", VARS), { text: "a=.", missing: [] });
        assert.deepEqual(substituteText("a=${unset}.", VARS), { text: "a=.", missing: ["unset"] });
    });

    test("each missing variable is reported once, in the order of first use", () => {
        assert.deepEqual(substituteText("${b} ${a} ${b} ${set}", VARS).missing, ["b", "a"]);
    });

    test("`:-` and `:=` use the default when the variable is unset or empty", () => {
        for (const op of [":-", ":="]) {
            assert.equal(substituteText(`\${set${op}d}`, VARS).text, "x", op);
            assert.equal(substituteText(`\${empty${op}d}`, VARS).text, "d", op);
            assert.equal(substituteText(`\${unset${op}d}`, VARS).text, "d", op);
            assert.deepEqual(substituteText(`\${unset${op}d}`, VARS).missing, [], `${op}: a default is not missing`);
        }
    });

    test("`-` and `=` use the default only when the variable is unset", () => {
        for (const op of ["-", "="]) {
            assert.equal(substituteText(`\${set${op}d}`, VARS).text, "x", op);
            assert.equal(substituteText(`\${empty${op}d}`, VARS).text, "", op);
            assert.equal(substituteText(`\${unset${op}d}`, VARS).text, "d", op);
        }
    });

    test("a default may be empty or contain spaces, colons and dashes", () => {
        assert.equal(substituteText("${unset:-}", VARS).text, "");
        assert.equal(substituteText("${unset:-a b:c-d}", VARS).text, "a b:c-d");
    });

    test("`$${var}` is the literal text `${var}`, not substituted and not reported", () => {
        assert.deepEqual(substituteText("$${set} $${unset}", VARS), { text: "${set} ${unset}", missing: [] });
    });

    test("text without `${` is unchanged", () => {
        const text = "name: set and unset, {set}, $ {set}";
        assert.deepEqual(substituteText(text, VARS), { text, missing: [] });
    });

    test("a variable named like an Object property is only set when given", () => {
        assert.deepEqual(substituteText("${constructor}${toString}", VARS), {
            text: "",
            missing: ["constructor", "toString"],
        });
    });
});

describe("opting out: kustomize.toolkit.fluxcd.io/substitute: disabled", () => {
    const key = "kustomize.toolkit.fluxcd.io/substitute";
    test("as a label or as an annotation", () => {
        assert.equal(substitutionDisabled({ metadata: { labels: { [key]: "disabled" } } }), true);
        assert.equal(substitutionDisabled({ metadata: { annotations: { [key]: "disabled" } } }), true);
    });
    test("any other value, another key or no metadata leaves substitution on", () => {
        assert.equal(substitutionDisabled({ metadata: { labels: { [key]: "enabled" } } }), false);
        assert.equal(substitutionDisabled({ metadata: { annotations: { [key]: "enabled" } } }), false);
        assert.equal(
            substitutionDisabled({ metadata: { labels: { "kustomize.toolkit.fluxcd.io/name": "disabled" } } }),
            false,
        );
        assert.equal(substitutionDisabled({ metadata: {} }), false);
        assert.equal(substitutionDisabled({}), false);
    });
});
