import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";

/** `owner/name`, as GitHub spells repositories. */
const REPOSITORY = /^([A-Za-z0-9][A-Za-z0-9-]{0,38})\/([A-Za-z0-9._-]{1,100})$/;

/** Splits `owner/name`; throws on anything else. */
export function parseRepository(repository: string): { owner: string; name: string } {
    const m = REPOSITORY.exec(repository);
    if (!m) throw new Error(`GitHub repository must be in owner/name form, got ${JSON.stringify(repository)}`);
    return { owner: m[1], name: m[2] };
}

export interface GitHubWebhookArgs {
    /**
     * Repository in `owner/name` form. Required. The `github.Provider` passed in `opts` must be
     * configured for the same owner (it authenticates with `GITHUB_TOKEN`).
     */
    readonly repository: string;
    /** Payload URL: the Flux receiver's webhook URL (a secret). Required. */
    readonly url: pulumi.Input<string>;
    /** HMAC secret GitHub signs payloads with (`X-Hub-Signature-256`): the receiver's token. Required. */
    readonly secret: pulumi.Input<string>;
    /**
     * Skip TLS verification when delivering. Only for Let's Encrypt staging certificates, which
     * chain to an untrusted root. Default: `false`.
     */
    readonly insecureSsl?: pulumi.Input<boolean>;
    /** Events delivered (GitHub always sends `ping` on creation). Default: `["push"]`. */
    readonly events?: pulumi.Input<pulumi.Input<string>[]>;
    /** Whether deliveries are active. Default: `true`. */
    readonly active?: pulumi.Input<boolean>;
}

/** A GitHub repository webhook delivering JSON push events to a Flux receiver. */
export class GitHubWebhook extends pulumi.ComponentResource {
    /** The repository webhook. */
    public readonly webhook: github.RepositoryWebhook;
    /** Repository owner. */
    public readonly owner: pulumi.Output<string>;
    /** Repository name. */
    public readonly repository: pulumi.Output<string>;
    /** Whether deliveries skip TLS verification. */
    public readonly insecureSsl: pulumi.Output<boolean>;

    constructor(name: string, args: GitHubWebhookArgs, opts?: pulumi.ComponentResourceOptions) {
        const repo = parseRepository(args.repository); // throws before anything is registered
        super("gitops:github:GitHubWebhook", name, {}, opts);
        this.insecureSsl = pulumi.output(args.insecureSsl ?? false);

        this.webhook = new github.RepositoryWebhook(
            `${name}-webhook`,
            {
                repository: repo.name,
                active: args.active ?? true,
                events: args.events ?? ["push"],
                configuration: {
                    url: pulumi.secret(args.url),
                    contentType: "json",
                    secret: pulumi.secret(args.secret),
                    insecureSsl: this.insecureSsl,
                },
            },
            { parent: this, additionalSecretOutputs: ["configuration"] },
        );

        this.owner = pulumi.output(repo.owner);
        this.repository = pulumi.output(repo.name);

        this.registerOutputs({
            webhook: this.webhook,
            owner: this.owner,
            repository: this.repository,
            insecureSsl: this.insecureSsl,
        });
    }
}
