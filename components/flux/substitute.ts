// Flux's post-build variable substitution, as kustomize-controller v1.9.4 runs it:
// fluxcd/pkg/kustomize SubstituteVariables over fluxcd/pkg/envsubst (a fork of drone/envsubst) in
// its default, non-strict mode, where a variable that is not set reads as "". The scanner, parser
// and functions below follow that package's parse/scan.go, parse/parse.go, funcs.go and
// path/match.go, so `make validate` sees what Flux applies — including where Flux differs from a
// shell:
//
// - `${var}`; `${#var}` its length in bytes; `${var^}`, `${var^^}`, `${var,}`, `${var,,}` case;
//   `${var:pos}`, `${var:pos:len}` (byte offsets); `${var/old/new}`, `//` (all), `/#` (prefix),
//   `/%` (suffix) with literal text; `${var#glob}`, `##`, `%`, `%%` remove a matching prefix or
//   suffix (Go's path.Match globs, where `*` also matches `/`).
// - `${var=word}`, `${var:=word}`, `${var:-word}`, `${var:?word}`, `${var:+word}` all give the
//   value when it is not empty, else the word (which may hold `${…}` itself): unlike a shell, a set
//   but empty variable gets the word too, `:?` raises nothing and `:+` is not "alternate value".
// - `${var-word}` (no colon) and anything else it cannot parse is an error ("bad substitution",
//   "missing closing brace", …): Flux fails the whole Kustomization.
// - `$$` is a literal `$` anywhere outside an expression (`$${var}` is the text `${var}`, and
//   `$$HOME` becomes `$HOME`); inside an expression's argument `\/` and `\\` escape.
// - The `kustomize.toolkit.fluxcd.io/substitute: disabled` label or annotation opts an object out.
// Every variable an expression reads without a default and the stack does not set is reported
// (Flux would silently substitute "").

/** Label or annotation with which an object opts out of substitution. */
export const SUBSTITUTE_OPT_OUT = "kustomize.toolkit.fluxcd.io/substitute";

export interface Substituted {
    /** The text with every expression replaced (the input unchanged when `error` is set). */
    readonly text: string;
    /** Variables read without a default that have no value (each once, in order of first use). */
    readonly missing: string[];
    /** Every variable an expression names (each once, in order of first use). */
    readonly used: string[];
    /**
     * Why Flux cannot substitute this text (its own words, then where): the Kustomization that
     * applies it fails. Undefined when the text substitutes.
     */
    readonly error?: string;
}

type Node =
    | { readonly kind: "text"; readonly value: string }
    | { readonly kind: "func"; param: string; name: string; readonly args: Node[] }
    | { readonly kind: "list"; readonly nodes: Node[] };

class ParseError extends Error {}
const BAD_SUBSTITUTION = "bad substitution";
const MISSING_CLOSING_BRACE = "missing closing brace";
const VARIABLE_NAME = "unable to parse variable name";
const FUNC_SUBSTITUTION = "unable to parse substitution within function";
const DEFAULT_FUNCTION = "unable to parse default function";

// tokens and scanner modes (parse/scan.go)
enum Token {
    Illegal,
    EOF,
    Ident,
    Lbrack,
    Rbrack,
}
const SCAN_IDENT = 1;
const SCAN_LBRACK = 2;
const SCAN_RBRACK = 4;
const SCAN_ESCAPE = 8;
const ESCAPE_DOLLAR = 1;
const ESCAPE_BACKSLASH = 2;
const EOF = "";

type Accept = (r: string, i: number) => boolean;
const acceptRune: Accept = () => true;
const acceptIdent: Accept = (r) => /^[\p{L}\p{Nd}_]$/u.test(r);
const acceptColon: Accept = (r) => r === ":";
const acceptOneHash: Accept = (r, i) => r === "#" && i === 1;
const acceptNotClosing: Accept = (r) => r !== "}";
const acceptHashFunc: Accept = (r, i) => r === "#" && i < 3;
const acceptPercentFunc: Accept = (r, i) => r === "%" && i < 3;
const acceptDefaultFunc: Accept = (r, i) => (i === 1 && r === ":") || (i === 2 && "=-?+".includes(r));
const acceptReplaceFunc: Accept = (r, i) => (i === 1 && r === "/") || (i === 2 && "/#%".includes(r));
const acceptOneEqual: Accept = (r, i) => i === 1 && r === "=";
const acceptOneColon: Accept = (r, i) => i === 1 && r === ":";
const rejectColonClose: Accept = (r) => r !== ":" && r !== "}";
const acceptSlash: Accept = (r) => r === "/";
const acceptNotSlash: Accept = (r) => r !== "/";
const acceptCasingFunc: Accept = (r, i) => (r === "," || r === "^") && i < 3;

class Scanner {
    pos = 0;
    start = 0;
    width = 0;
    mode = 0;
    escapeChars = 0;
    accept: Accept = acceptRune;
    constructor(public buf: string) {}

    read(): string {
        if (this.pos >= this.buf.length) {
            this.width = 0;
            return EOF;
        }
        const r = String.fromCodePoint(this.buf.codePointAt(this.pos) as number);
        this.width = r.length;
        this.pos += this.width;
        return r;
    }
    unread(): void {
        this.pos -= this.width;
    }
    /** Removes the character before the position (an escape character) from the buffer. */
    skip(): void {
        this.buf = this.buf.slice(0, this.pos - 1) + this.buf.slice(this.pos);
    }
    peek(): string {
        const r = this.read();
        this.unread();
        return r;
    }
    string(): string {
        return this.buf.slice(this.start, this.pos);
    }
    scan(): Token {
        this.start = this.pos;
        const r = this.read();
        if (r === EOF) return Token.EOF;
        if (this.scanLbrack(r)) return Token.Lbrack;
        if (this.scanRbrack(r)) return Token.Rbrack;
        if (this.scanIdent(r)) return Token.Ident;
        return Token.Illegal;
    }
    scanIdent(first: string): boolean {
        if ((this.mode & SCAN_IDENT) === 0) return false;
        if (this.scanEscaped(first)) this.skip();
        else if (!this.accept(first, this.pos - this.start)) return false;
        for (;;) {
            const r = this.read();
            if (r === EOF) {
                this.unread();
                break;
            }
            if (this.scanLbrack(r)) {
                this.unread();
                this.unread();
                break;
            }
            if (this.scanEscaped(r)) {
                this.skip();
                continue;
            }
            if (!this.accept(r, this.pos - this.start)) {
                this.unread();
                break;
            }
        }
        return true;
    }
    scanLbrack(r: string): boolean {
        if ((this.mode & SCAN_LBRACK) === 0) return false;
        if (r === "$") {
            if (this.read() === "{") return true;
            this.unread();
        }
        return false;
    }
    scanRbrack(r: string): boolean {
        return (this.mode & SCAN_RBRACK) !== 0 && r === "}";
    }
    scanEscaped(r: string): boolean {
        if ((this.mode & SCAN_ESCAPE) === 0) return false;
        if (r === "$" && (this.escapeChars & ESCAPE_DOLLAR) !== 0 && this.peek() === "$") return true;
        if (r === "\\" && (this.escapeChars & ESCAPE_BACKSLASH) !== 0) {
            const next = this.peek();
            return next === "/" || next === "\\";
        }
        return false;
    }
}

/** parse/parse.go: the tree of a text, or ParseError with Flux's message. */
class Parser {
    constructor(readonly s: Scanner) {}

    /** parseAny: text and expressions up to the end (a loop where the Go code recurses). */
    any(): Node {
        const s = this.s;
        const nodes: Node[] = [];
        for (;;) {
            s.accept = acceptRune;
            s.mode = SCAN_IDENT | SCAN_LBRACK | SCAN_ESCAPE;
            s.escapeChars = ESCAPE_DOLLAR;
            const token = s.scan();
            if (token === Token.EOF) break;
            if (token === Token.Ident) nodes.push({ kind: "text", value: s.string() });
            else if (token === Token.Lbrack) nodes.push(this.func());
            // Stryker disable next-line all: unreachable, as in parse.go: acceptRune takes any first character, so this scan ends in EOF, Lbrack or Ident
            else throw new ParseError(BAD_SUBSTITUTION);
        }
        return { kind: "list", nodes };
    }

    func(): Node {
        const s = this.s;
        s.escapeChars = ESCAPE_DOLLAR | ESCAPE_BACKSLASH;
        if (s.peek() === "#") return this.lenFunc();
        s.accept = acceptIdent;
        s.mode = SCAN_IDENT;
        if (s.scan() !== Token.Ident) throw new ParseError(VARIABLE_NAME);
        const name = s.string();
        switch (s.peek()) {
            case ":":
                return this.defaultOrSubstr(name);
            case "=":
                return this.defaultFunc(name);
            case ",":
            case "^":
                return this.casingFunc(name);
            case "/":
                return this.replaceFunc(name);
            case "#":
                return this.removeFunc(name, acceptHashFunc);
            case "%":
                return this.removeFunc(name, acceptPercentFunc);
        }
        s.accept = acceptIdent;
        s.mode = SCAN_RBRACK;
        if (s.scan() !== Token.Rbrack) throw new ParseError(MISSING_CLOSING_BRACE);
        return { kind: "func", param: name, name: "", args: [] };
    }

    param(accept: Accept, mode: number): Node {
        const s = this.s;
        s.accept = accept;
        s.mode = mode | SCAN_LBRACK;
        switch (s.scan()) {
            case Token.Lbrack:
                return this.func();
            case Token.Ident:
            case Token.Rbrack:
                return { kind: "text", value: s.string() };
            default:
                throw new ParseError(FUNC_SUBSTITUTION);
        }
    }

    /** The function's operator: scanned with `accept`, else `error`. */
    operator(accept: Accept, error: string): string {
        const s = this.s;
        s.accept = accept;
        s.mode = SCAN_IDENT;
        if (s.scan() !== Token.Ident) throw new ParseError(error);
        return s.string();
    }

    defaultOrSubstr(name: string): Node {
        const s = this.s;
        s.read();
        const r = s.peek();
        s.unread();
        return "=-?+".includes(r) && r !== EOF ? this.defaultFunc(name) : this.substrFunc(name);
    }

    substrFunc(name: string): Node {
        const s = this.s;
        const node = {
            kind: "func" as const,
            param: name,
            name: this.operator(acceptOneColon, BAD_SUBSTITUTION),
            args: [] as Node[],
        };
        node.args.push(this.param(rejectColonClose, SCAN_IDENT));
        s.accept = acceptColon;
        s.mode = SCAN_IDENT | SCAN_RBRACK;
        switch (s.scan()) {
            case Token.Rbrack:
                return node;
            case Token.Ident:
                break;
            default:
                throw new ParseError(BAD_SUBSTITUTION);
        }
        node.args.push(this.param(acceptNotClosing, SCAN_IDENT));
        this.closing();
        return node;
    }

    removeFunc(name: string, accept: Accept): Node {
        const node = {
            kind: "func" as const,
            param: name,
            name: this.operator(accept, BAD_SUBSTITUTION),
            args: [] as Node[],
        };
        node.args.push(this.param(acceptNotClosing, SCAN_IDENT));
        this.closing();
        return node;
    }

    replaceFunc(name: string): Node {
        const s = this.s;
        const node = {
            kind: "func" as const,
            param: name,
            name: this.operator(acceptReplaceFunc, BAD_SUBSTITUTION),
            args: [] as Node[],
        };
        node.args.push(this.param(acceptNotSlash, SCAN_IDENT | SCAN_ESCAPE));
        s.accept = acceptSlash;
        s.mode = SCAN_IDENT;
        if (s.scan() !== Token.Ident) throw new ParseError(BAD_SUBSTITUTION);
        if (s.peek() === "}") {
            this.closing();
            return node;
        }
        node.args.push(this.param(acceptNotClosing, SCAN_IDENT | SCAN_ESCAPE));
        this.closing();
        return node;
    }

    defaultFunc(name: string): Node {
        const s = this.s;
        const op = this.operator(s.peek() === "=" ? acceptOneEqual : acceptDefaultFunc, DEFAULT_FUNCTION);
        const node = { kind: "func" as const, param: name, name: op, args: [] as Node[] };
        // everything up to the closing brace is the default (each round consumes input; at the end
        // of the text param() throws)
        while (s.peek() !== "}") node.args.push(this.param(acceptNotClosing, SCAN_IDENT));
        this.closing();
        return node;
    }

    casingFunc(name: string): Node {
        const node = {
            kind: "func" as const,
            param: name,
            name: this.operator(acceptCasingFunc, BAD_SUBSTITUTION),
            args: [],
        };
        this.closing();
        return node;
    }

    lenFunc(): Node {
        const s = this.s;
        const op = this.operator(acceptOneHash, BAD_SUBSTITUTION);
        s.accept = acceptIdent;
        s.mode = SCAN_IDENT;
        if (s.scan() !== Token.Ident) throw new ParseError(BAD_SUBSTITUTION);
        const node = { kind: "func" as const, param: s.string(), name: op, args: [] };
        this.closing();
        return node;
    }

    closing(): void {
        this.s.mode = SCAN_RBRACK;
        if (this.s.scan() !== Token.Rbrack) throw new ParseError(BAD_SUBSTITUTION);
    }
}

// funcs.go
const DEFAULT_OPS = new Set(["-", "+", "=", "?", ":-", ":+", ":=", ":?"]);
const utf8 = (s: string) => Buffer.from(s, "utf8");
const runes = (s: string) => [...s];

function toSubstr(s: string, args: string[]): string {
    const bytes = utf8(s);
    const goInt = (a: string | undefined) => (a !== undefined && /^[+-]?\d+$/.test(a) ? Number(a) : undefined);
    let pos = goInt(args[0]);
    if (pos === undefined) return s;
    if (pos < 0) pos = Math.max(0, bytes.length + pos);
    if (args.length === 1) return pos < bytes.length ? bytes.subarray(pos).toString("utf8") : "";
    const length = goInt(args[1]);
    if (length === undefined) return s;
    if (pos + length >= bytes.length) return pos < bytes.length ? bytes.subarray(pos).toString("utf8") : "";
    if (length < 0) {
        // Go slices s[pos:pos+length] here: a negative length makes the controller panic
        throw new ParseError(
            `a negative length panics Flux's envsubst (slice bounds out of range [${pos}:${pos + length}])`,
        );
    }
    return bytes.subarray(pos, pos + length).toString("utf8");
}

function replaceN(s: string, old: string, replacement: string, all: boolean): string {
    if (old === "") {
        // Go's strings.Replace with an empty old inserts the replacement before each rune and at the end
        const parts = runes(s);
        return all ? `${replacement}${parts.join(replacement)}${parts.length > 0 ? replacement : ""}` : replacement + s;
    }
    return all ? s.split(old).join(replacement) : s.replace(old, () => replacement);
}

/** path/match.go: Go's path.Match, as the fork changed it (`*` also matches `/`). */
export function globMatch(pattern: string, name: string): boolean {
    let p = pattern;
    let n = name;
    outer: while (p.length > 0) {
        const [star, chunk, rest] = scanChunk(p);
        p = rest;
        if (star && chunk === "") return true;
        const t = matchChunk(chunk, n);
        if (t !== undefined && (t.length === 0 || p.length > 0)) {
            n = t;
            continue;
        }
        if (star) {
            for (let i = 0; i < n.length; i++) {
                const t2 = matchChunk(chunk, n.slice(i + 1));
                if (t2 !== undefined) {
                    if (p.length === 0 && t2.length > 0) continue;
                    n = t2;
                    continue outer;
                }
            }
        }
        return false;
    }
    return n.length === 0;
}

function scanChunk(pattern: string): [boolean, string, string] {
    let p = pattern;
    let star = false;
    while (p.startsWith("*")) {
        p = p.slice(1);
        star = true;
    }
    let inRange = false;
    let i = 0;
    for (; i < p.length; i++) {
        const c = p[i];
        if (c === "\\") {
            if (i + 1 < p.length) i++;
        } else if (c === "[") inRange = true;
        else if (c === "]") inRange = false;
        else if (c === "*" && !inRange) break;
    }
    return [star, p.slice(0, i), p.slice(i)];
}

class BadPattern extends Error {}

/** The rest of `s` after `chunk` matched its start, or undefined. Throws BadPattern. */
function matchChunk(chunk: string, str: string): string | undefined {
    let c = chunk;
    let s = str;
    while (c.length > 0) {
        if (s.length === 0) return undefined;
        if (c[0] === "[") {
            const r = String.fromCodePoint(s.codePointAt(0) as number);
            s = s.slice(r.length);
            c = c.slice(1);
            let negated = false;
            if (c.startsWith("^")) {
                negated = true;
                c = c.slice(1);
            }
            let match = false;
            for (let ranges = 0; ; ranges++) {
                if (c.startsWith("]") && ranges > 0) {
                    c = c.slice(1);
                    break;
                }
                let lo: string;
                [lo, c] = getEsc(c);
                let hi = lo;
                if (c[0] === "-") [hi, c] = getEsc(c.slice(1));
                const cp = r.codePointAt(0) as number;
                if ((lo.codePointAt(0) as number) <= cp && cp <= (hi.codePointAt(0) as number)) match = true;
            }
            if (match === negated) return undefined;
        } else if (c[0] === "?") {
            s = s.slice(String.fromCodePoint(s.codePointAt(0) as number).length);
            c = c.slice(1);
        } else {
            if (c[0] === "\\") {
                c = c.slice(1);
                if (c.length === 0) throw new BadPattern();
            }
            if (c[0] !== s[0]) return undefined;
            s = s.slice(1);
            c = c.slice(1);
        }
    }
    return s;
}

function getEsc(chunk: string): [string, string] {
    let c = chunk;
    if (c.length === 0 || c[0] === "-" || c[0] === "]") throw new BadPattern();
    if (c[0] === "\\") {
        c = c.slice(1);
        if (c.length === 0) throw new BadPattern();
    }
    const r = String.fromCodePoint(c.codePointAt(0) as number);
    const rest = c.slice(r.length);
    if (rest.length === 0) throw new BadPattern();
    return [r, rest];
}

/** funcs.go trimShortest / trimLongest: removes the shortest or longest prefix `glob` matches. */
function trimPrefix(s: string, glob: string, longest: boolean): string {
    let found: string | undefined;
    try {
        for (let i = 0; i < s.length; i++) {
            const prefix = s.slice(0, s.length - i);
            if (globMatch(glob, prefix)) {
                found = prefix;
                if (longest) break;
            }
        }
    } catch (err) {
        if (err instanceof BadPattern) return s;
        throw err;
    }
    return found ? s.slice(found.length) : s;
}

const reverse = (s: string) => runes(s).reverse().join("");

function apply(name: string, value: string, args: string[]): string {
    switch (name) {
        case ",":
            return value === "" ? value : (runes(value)[0] as string).toLowerCase() + runes(value).slice(1).join("");
        case ",,":
            return value.toLowerCase();
        case "^":
            return value === "" ? value : (runes(value)[0] as string).toUpperCase() + runes(value).slice(1).join("");
        case "^^":
            return value.toUpperCase();
        case "#":
            return args.length === 0 ? String(utf8(value).length) : trimPrefix(value, args[0] as string, false);
        case "##":
            return trimPrefix(value, args[0] as string, true);
        case "%":
            return reverse(trimPrefix(reverse(value), reverse(args[0] as string), false));
        case "%%":
            return reverse(trimPrefix(reverse(value), reverse(args[0] as string), true));
        case ":":
            return toSubstr(value, args);
        case "/#":
            return args.length === 2 && value.startsWith(args[0] as string)
                ? replaceN(value, args[0] as string, args[1] as string, false)
                : value;
        case "/%":
            return args.length === 2 && value.endsWith(args[0] as string)
                ? value.slice(0, value.length - (args[0] as string).length) + args[1]
                : value;
        case "/":
        case "//":
            return args.length === 0 ? value : replaceN(value, args[0] as string, args[1] ?? "", name === "//");
        default:
            // ${var} and every default operator: the value, or the arguments when it is empty
            return value === "" && args.length > 0 ? args.join("") : value;
    }
}

/** Substitutes `${…}` expressions in `text` with `vars`, as Flux's kustomize-controller does. */
export function substituteText(text: string, vars: Readonly<Record<string, string>>): Substituted {
    const missing: string[] = [];
    const used: string[] = [];
    const scanner = new Scanner(text);
    let root: Node;
    try {
        root = new Parser(scanner).any();
    } catch (err) {
        if (!(err instanceof ParseError)) throw err;
        const at = Math.min(scanner.pos, scanner.buf.length);
        const near = scanner.buf.slice(Math.max(0, scanner.buf.lastIndexOf("${", at - 1)), at + 1).split("\n")[0];
        return { text, missing, used, error: `${err.message} near "${near}"` };
    }
    const evaluate = (node: Node): string => {
        if (node.kind === "text") return node.value;
        if (node.kind === "list") return node.nodes.map(evaluate).join("");
        const args = node.args.map(evaluate);
        const set = Object.hasOwn(vars, node.param);
        if (!used.includes(node.param)) used.push(node.param);
        if (!set && !DEFAULT_OPS.has(node.name) && !missing.includes(node.param)) missing.push(node.param);
        return apply(node.name, set ? (vars[node.param] as string) : "", args);
    };
    try {
        return { text: evaluate(root), missing, used };
    } catch (err) {
        if (!(err instanceof ParseError)) throw err;
        return { text, missing, used, error: err.message };
    }
}

/** Whether an object opts out of substitution (label or annotation `…/substitute: disabled`). */
export function substitutionDisabled(obj: {
    metadata?: { labels?: Record<string, unknown>; annotations?: Record<string, unknown> };
}): boolean {
    return (
        obj.metadata?.labels?.[SUBSTITUTE_OPT_OUT] === "disabled" ||
        obj.metadata?.annotations?.[SUBSTITUTE_OPT_OUT] === "disabled"
    );
}
