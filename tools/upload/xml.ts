// The few XML shapes S3 answers with, read without a general XML parser: S3's
// replies are flat elements with text content (ListBucketResult, Error, …), and
// a LIST page of 1,000 keys is read element by element while it arrives.

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Resolves the five named entities and numeric character references (`&#13;`, `&#x1F;`). */
export function unescapeXml(s: string): string {
    // Stryker disable next-line StringLiteral: a shortcut only; the replace below returns a text without "&" as it is
    if (!s.includes("&")) return s;
    return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (m, e: string) => {
        if (e[0] === "#") {
            const code = e[1] === "x" ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
            return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : m;
        }
        return ENTITIES[e] ?? m;
    });
}

export function escapeXml(s: string): string {
    return s.replace(/[&<>"']/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }[c]};`);
}

/** The text of the first `<tag>…</tag>` in `xml` (unescaped), or undefined; `<tag/>` gives "". */
export function childText(xml: string, tag: string): string | undefined {
    const open = xml.indexOf(`<${tag}>`);
    if (open < 0) return xml.includes(`<${tag}/>`) ? "" : undefined;
    const start = open + tag.length + 2;
    const end = xml.indexOf(`</${tag}>`, start);
    return end < 0 ? undefined : unescapeXml(xml.slice(start, end));
}

/** Every `<tag>…</tag>` element's inner text (not unescaped), in order. */
export function elements(xml: string, tag: string): string[] {
    const out: string[] = [];
    const open = `<${tag}>`;
    const close = `</${tag}>`;
    for (let at = xml.indexOf(open); at >= 0; at = xml.indexOf(open, at)) {
        // Stryker disable next-line ArithmeticOperator: a close tag that starts in the open tag's length before `at` would overlap the open tag, whose only "<" is its first character
        const end = xml.indexOf(close, at + open.length);
        // Stryker disable next-line EqualityOperator: the close tag is found after the open tag, never at 0
        if (end < 0) break;
        out.push(xml.slice(at + open.length, end));
        at = end + close.length;
    }
    return out;
}

/**
 * Reads the `<tag>…</tag>` elements of a document as its text arrives in
 * pieces: each complete element is handed to `onElement` as soon as its end
 * tag is in, and only the unfinished rest is kept; what lies outside those
 * elements (IsTruncated, NextContinuationToken, …) is kept for `rest`.
 */
export class ElementStream {
    private pending = "";
    private outside = "";
    private readonly open: string;
    private readonly close: string;
    private readonly onElement: (inner: string) => void;

    constructor(tag: string, onElement: (inner: string) => void) {
        this.open = `<${tag}>`;
        this.close = `</${tag}>`;
        this.onElement = onElement;
    }

    write(text: string): void {
        let buf = this.pending + text;
        for (;;) {
            const at = buf.indexOf(this.open);
            if (at < 0) {
                // keep a tail that could be the start of the next open tag
                // Stryker disable next-line ArithmeticOperator: keeping more of the tail moves text from `outside` to `pending`, which rest() joins again
                const keep = Math.min(buf.length, this.open.length - 1);
                this.outside += buf.slice(0, buf.length - keep);
                this.pending = buf.slice(buf.length - keep);
                return;
            }
            const end = buf.indexOf(this.close, at + this.open.length);
            // Stryker disable next-line EqualityOperator: the close tag is found after the open tag, never at 0
            if (end < 0) {
                this.outside += buf.slice(0, at);
                this.pending = buf.slice(at);
                return;
            }
            this.outside += buf.slice(0, at);
            this.onElement(buf.slice(at + this.open.length, end));
            buf = buf.slice(end + this.close.length);
        }
    }

    /** Everything outside the elements (call after the last write). */
    rest(): string {
        const r = this.outside + this.pending;
        this.outside = "";
        this.pending = "";
        return r;
    }
}
