// Flux's post-build variable substitution, as kustomize-controller v1.9.4 runs it
// (fluxcd/pkg/kustomize SubstituteVariables over fluxcd/pkg/envsubst), for what `make validate`
// needs: the forms `${var}`, `${var:-default}`, `${var-default}`, `${var:=default}`,
// `${var=default}`, the `$${var}` escape, and the `kustomize.toolkit.fluxcd.io/substitute:
// disabled` opt-out. Flux's default (non-strict) mode replaces an unset variable with "", which
// silently breaks an object, so every unset variable without a default is reported.

/** Label or annotation with which an object opts out of substitution. */
export const SUBSTITUTE_OPT_OUT = "kustomize.toolkit.fluxcd.io/substitute";

const NAME = /^#?([_a-zA-Z][_a-zA-Z0-9]*)(.*)$/s;

export interface Substituted {
    /** The text with every variable replaced. */
    readonly text: string;
    /** Variables used without a value or a default (each once, in order). */
    readonly missing: string[];
}

/** Substitutes `${…}` expressions in `text` with `vars`. */
export function substituteText(text: string, vars: Readonly<Record<string, string>>): Substituted {
    const missing: string[] = [];
    const out = text.replace(/\$\$\{|\$\{([^}]*)\}/g, (match, expr: string | undefined) => {
        if (expr === undefined) return "${"; // `$${` escapes a literal `${`
        const m = NAME.exec(expr);
        if (!m) return match;
        const [, name, rest] = m as unknown as [string, string, string];
        const set = Object.hasOwn(vars, name);
        const value = set ? (vars[name] as string) : "";
        const dflt = /^(:?)[-=](.*)$/s.exec(rest);
        if (dflt) {
            const [, colon, fallback] = dflt as unknown as [string, string, string];
            return !set || (colon === ":" && value === "") ? fallback : value;
        }
        if (!set && !missing.includes(name)) missing.push(name);
        return value;
    });
    return { text: out, missing };
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
