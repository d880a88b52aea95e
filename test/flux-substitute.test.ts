/**
 * `make validate`'s post-build substitution (components/flux/substitute.ts) against what Flux's
 * kustomize-controller v1.9.4 runs: fluxcd/pkg/envsubst v1.7.0 in its default (non-strict) mode.
 * The expected values are that package's own test table (envsubst/eval_test.go, TestExpand) and
 * answers of the real package (a Go program over envsubst.Eval, run by hand and by
 * test/flux-substitute-upstream.test.ts), not a shell's: `${var-word}` does not parse, every
 * default operator also replaces an empty value, and `$$` is a literal `$` anywhere.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the texts are Flux substitution expressions, not templates
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { substituteText, substitutionDisabled } from "../components/flux/substitute";

const VARS = { set: "xY", empty: "", u: "\u00c4\u00e9" };

describe("post-build substitution (fluxcd/pkg/envsubst v1.7.0, non-strict)", () => {
    test("fluxcd/pkg/envsubst's own expansion table (eval_test.go TestExpand)", () => {
        const table: Array<[Record<string, string>, string, string]> = [
            [{}, "abcdEFGH28ij", "abcdEFGH28ij"],
            [{ var01: "abcdEFGH28ij" }, "${#var01}", "12"],
            [{ var01: "abcdEFGH28ij" }, "${var01^}", "AbcdEFGH28ij"],
            [{ var01: "abcdEFGH28ij" }, "${var01^^}", "ABCDEFGH28IJ"],
            [{ var01: "ABCDEFGH28IJ" }, "${var01,}", "aBCDEFGH28IJ"],
            [{ var01: "ABCDEFGH28IJ" }, "${var01,,}", "abcdefgh28ij"],
            [{ path_name: "/home/bozo/ideas/thoughts.for.today" }, "${path_name:11}", "ideas/thoughts.for.today"],
            [{ path_name: "/home/bozo/ideas/thoughts.for.today" }, "${path_name:11:5}", "ideas"],
            [{ var: "abc" }, "${var=xyz}", "abc"],
            [{}, "${var=xyz}", "xyz"],
            [{ default_var: "foo" }, "something ${var=${default_var}}", "something foo"],
            [{ default_var: "foo1" }, "foo: ${var=${default_var}-suffix}", "foo: foo1-suffix"],
            [{ default_var: "foo1" }, "foo: ${var=prefix${default_var}-suffix}", "foo: prefixfoo1-suffix"],
            [{}, "${var:=xyz}", "xyz"],
            [{ stringZ: "abcABC123ABCabc" }, "${stringZ/%abc/XYZ}", "abcABC123ABCXYZ"],
            [{ stringZ: "abcABC123ABCabc" }, "${stringZ/#abc/XYZ}", "XYZABC123ABCabc"],
            [{ stringZ: "abcABC123ABCabc" }, "${stringZ//abc/xyz}", "xyzABC123ABCxyz"],
            [{ stringZ: "abcABC123ABCabc" }, "${stringZ/abc/xyz}", "xyzABC123ABCabc"],
            [{ filename: "bash.string.txt" }, "${filename#*.}", "string.txt"],
            [{ filename: "path/to/file" }, "${filename#*/}", "to/file"],
            [{ filename: "/path/to/file" }, "${filename#*/}", "path/to/file"],
            [{ filename: "bash.string.txt" }, "${filename##*.}", "txt"],
            [{ filename: "path/to/file" }, "${filename##*/}", "file"],
            [{ filename: "/path/to/file" }, "${filename##*/}", "file"],
            [{ filename: "bash.string.txt" }, "${filename%.*}", "bash.string"],
            [{ filename: "bash.string.txt" }, "${filename%%.*}", "bash"],
            [{ var01: "abcdEFGH28ij" }, "${var=${var01^^}}", "ABCDEFGH28IJ"],
            [{ var01: "abcdEFGH28ij" }, "$${var01}", "${var01}"],
            [
                { var01: "abcdEFGH28ij" },
                "some text ${var01}$${var$${var01}$var01${var01}",
                "some text abcdEFGH28ij${var${var01}$var01abcdEFGH28ij",
            ],
            [{ default_var: "foo" }, "something $${var=${default_var}}", "something ${var=foo}"],
            [{ stringZ: "foo/bar" }, "${stringZ/\\//-}", "foo-bar"],
            [{ stringZ: "foo/bar/baz" }, "${stringZ//\\//-}", "foo-bar-baz"],
            [{ default_var: "foo" }, "\\\\something ${var=${default_var}}", "\\\\something foo"],
            [{ stringZ: "foo.bar" }, "${stringZ/./}", "foobar"],
        ];
        for (const [vars, input, output] of table) {
            const got = substituteText(input, vars);
            assert.equal(got.error, undefined, input);
            assert.equal(got.text, output, input);
        }
    });

    test("a set variable is replaced; an unset one becomes empty and is reported", () => {
        assert.deepEqual(substituteText("a=${set}.", VARS), { text: "a=xY.", missing: [], used: ["set"] });
        assert.deepEqual(substituteText("a=${empty}.", VARS), { text: "a=.", missing: [], used: ["empty"] });
        assert.deepEqual(substituteText("a=${unset}.", VARS), { text: "a=.", missing: ["unset"], used: ["unset"] });
        assert.deepEqual(
            substituteText("${9}", VARS),
            { text: "", missing: ["9"], used: ["9"] },
            "digits are a name too",
        );
    });

    test("each missing or used variable is reported once, in the order of first use", () => {
        const got = substituteText("${b} ${a} ${b} ${set} ${#c} ${d:-x}", VARS);
        assert.deepEqual(got.missing, ["b", "a", "c"]);
        assert.deepEqual(got.used, ["b", "a", "set", "c", "d"]);
    });

    test("every default operator gives the word when the value is empty or unset, the value otherwise", () => {
        // unlike a shell: `=` and `:+` are not "only when unset" / "alternate value", `:?` raises nothing
        for (const op of ["=", ":=", ":-", ":?", ":+"]) {
            assert.equal(substituteText(`\${set${op}d}`, VARS).text, "xY", op);
            assert.equal(substituteText(`\${empty${op}d}`, VARS).text, "d", op);
            assert.deepEqual(substituteText(`\${unset${op}d}`, VARS), { text: "d", missing: [], used: ["unset"] }, op);
        }
        assert.equal(substituteText("${unset:-}", VARS).text, "");
        assert.equal(substituteText("${set:+}", VARS).text, "xY");
        assert.equal(substituteText("${unset:-a b:c-d}", VARS).text, "a b:c-d");
    });

    test("a variable read inside a default is evaluated (and reported) even when the default is not used", () => {
        assert.deepEqual(substituteText("${set:=${unset}}", VARS), {
            text: "xY",
            missing: ["unset"],
            used: ["unset", "set"],
        });
    });

    test("operators that read the value report an unset variable", () => {
        for (const expr of ["${#n}", "${n^}", "${n^^}", "${n,}", "${n,,}", "${n:0}", "${n/a/b}", "${n#a}", "${n%%a}"]) {
            assert.deepEqual(substituteText(expr, VARS).missing, ["n"], expr);
        }
    });

    test("a known difference: a glob's ? matches a whole character (Flux's trims byte by byte)", () => {
        // fluxcd/pkg/envsubst trims byte by byte, so on "Äé" (two bytes each) `${u#?}` removes
        // half of the Ä and `${u%?}` half of the é: the real package (tools/envsubst) answers
        // "\x84é" and "Ä\xc3", invalid UTF-8 (test/flux-substitute-upstream.test.ts keeps such
        // values out of the globs it compares).
        // The port removes the character: what a manifest author means, and valid text.
        assert.equal(substituteText("${u#?}", VARS).text, "\u00e9");
        assert.equal(substituteText("${u%?}", VARS).text, "\u00c4");
    });

    test("the length is in bytes; offsets are byte offsets", () => {
        assert.equal(substituteText("${#u}", VARS).text, "4");
        assert.equal(
            substituteText("${u:1}", VARS).text,
            "\ufffd\u00e9",
            "a cut through a character, as Go's string slicing",
        );
        assert.equal(substituteText("${set:5}", VARS).text, "");
        assert.equal(substituteText("${set:-1}", VARS).text, "xY", "`:-` is the default operator, not an offset");
        assert.equal(substituteText("${set:1:9}", VARS).text, "Y");
        assert.equal(substituteText("${set:x}", VARS).text, "xY", "an offset that is no number: the value");
    });

    test("`$$` is a literal `$` anywhere; a lone `$` and `$name` stay as they are", () => {
        assert.deepEqual(substituteText("$${set} $${unset}", VARS), { text: "${set} ${unset}", missing: [], used: [] });
        assert.equal(substituteText("$$HOME and $$$$", VARS).text, "$HOME and $$");
        const text = "a $ b $set, {set}, $ {set}";
        assert.deepEqual(substituteText(text, VARS), { text, missing: [], used: [] });
    });

    test("what Flux cannot parse is an error that names the problem and where (the text is left as it was)", () => {
        const cases: Array<[string, string]> = [
            ["${set-d}", "missing closing brace"],
            ["${set!}", "missing closing brace"],
            ["a: ${set", "missing closing brace"],
            ["${}", "unable to parse variable name"],
            ["${ set}", "unable to parse variable name"],
            ["${set:}", "unable to parse substitution within function"],
            ["${set:=${unset}", "unable to parse substitution within function"],
            ["${#}", "bad substitution"],
            ["${set^x}", "bad substitution"],
            ["${set/b}", "bad substitution"],
        ];
        for (const [text, message] of cases) {
            const got = substituteText(`x ${text}`, VARS);
            assert.equal(got.text, `x ${text}`, text);
            assert.match(got.error ?? "", new RegExp(`^${message} near "\\$\\{`), text);
        }
        assert.match(substituteText("${set:1:-1}", VARS).error ?? "", /negative length panics .*\[1:0\]/);
    });

    test("a variable named like an Object property is only set when given", () => {
        assert.deepEqual(substituteText("${constructor}${toString}", VARS), {
            text: "",
            missing: ["constructor", "toString"],
            used: ["constructor", "toString"],
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
