import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { type Duration, Provider, type ProviderSpec } from "./flux/api";

type In<T> = pulumi.Input<T>;

/** Provider types this component configures. */
export type FluxProviderType =
    | "generic"
    | "generic-hmac"
    | "slack"
    | "discord"
    | "msteams"
    | "github"
    | "githubdispatch"
    | "gitlab"
    | "bitbucket"
    | "azuredevops"
    | "telegram"
    | "googlechat"
    | "pagerduty";

/** Provider types that post Git commit statuses (they need a Git commit as the event's revision). */
export const COMMIT_STATUS_TYPES: readonly FluxProviderType[] = ["github", "gitlab", "bitbucket", "azuredevops"];

/** PagerDuty's Events API host, the default address of a `pagerduty` provider. */
export const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com";

/** Slack's `chat.postMessage` API, the address a Slack bot token posts to. */
export const SLACK_POST_MESSAGE_URL = "https://slack.com/api/chat.postMessage";

/** A webhook URL that is not a secret: written to `spec.address`. */
export interface PlainAddress {
    /** Webhook URL without anything secret in it; goes to `spec.address`. Required in this form. */
    readonly address: In<string>;
    /** Not allowed together with `address`. Default: unset. */
    readonly secretAddress?: undefined;
}

/** A webhook URL that embeds a secret: written to the Secret key `address`. */
export interface SecretAddress {
    /** Not allowed together with `secretAddress`. Default: unset. */
    readonly address?: undefined;
    /** Webhook URL that embeds a token; goes to the Secret key `address`, never to the spec. Required in this form. */
    readonly secretAddress: In<string>;
}

/** `generic`: POSTs each event as JSON to a URL. */
export type GenericTarget = {
    /** Provider type. Required. */
    readonly type: "generic";
    /** HTTP headers sent with every request (e.g. `Authorization`), kept in the Secret key `headers`. Default: none. */
    readonly headers?: In<Record<string, In<string>>>;
    /** HTTP/S proxy URL (may embed credentials), kept in a proxy Secret (`spec.proxySecretRef`). Default: no proxy. */
    readonly proxy?: In<string>;
} & (PlainAddress | SecretAddress);

/** `generic-hmac`: like `generic`, with an `X-Signature` HMAC of the body. */
export type GenericHmacTarget = {
    /** Provider type. Required. */
    readonly type: "generic-hmac";
    /** HMAC key, kept in the Secret key `token`. Required. */
    readonly hmacKey: In<string>;
    /** HTTP headers sent with every request, kept in the Secret key `headers`. Default: none. */
    readonly headers?: In<Record<string, In<string>>>;
    /** HTTP/S proxy URL, kept in a proxy Secret (`spec.proxySecretRef`). Default: no proxy. */
    readonly proxy?: In<string>;
} & (PlainAddress | SecretAddress);

/** Slack through an incoming-webhook URL (the URL is the credential). */
export interface SlackWebhook {
    /** Incoming-webhook URL, kept in the Secret key `address`. Required in this form. */
    readonly webhookUrl: In<string>;
    /** Not allowed together with `webhookUrl`. Default: unset. */
    readonly token?: undefined;
    /** Not allowed together with `webhookUrl`. Default: unset. */
    readonly address?: undefined;
    /** Not allowed: an incoming webhook is bound to one channel. Default: unset. */
    readonly channel?: undefined;
}

/** Slack through a bot token posting to an API address. */
export interface SlackBot {
    /** Not allowed together with `token`. Default: unset. */
    readonly webhookUrl?: undefined;
    /** Bot token (`xoxb-...`), kept in the Secret key `token`. Required in this form. */
    readonly token: In<string>;
    /** API address the bot posts to. Default: `https://slack.com/api/chat.postMessage`. */
    readonly address?: In<string>;
    /**
     * Channel to post to (ID or name). Required: notification-controller always sends the
     * `channel` field, and chat.postMessage rejects an empty one.
     */
    readonly channel: In<string>;
}

/** `slack`: a Slack message per event. */
export type SlackTarget = {
    /** Provider type. Required. */
    readonly type: "slack";
    /** Name the messages are posted under. Default: the reporting Flux controller. */
    readonly username?: In<string>;
    /** HTTP/S proxy URL, kept in a proxy Secret (`spec.proxySecretRef`). Default: no proxy. */
    readonly proxy?: In<string>;
} & (SlackWebhook | SlackBot);

/** `discord`: a Discord message per event, through a webhook (Slack-compatible endpoint). */
export interface DiscordTarget {
    /** Provider type. Required. */
    readonly type: "discord";
    /** Discord webhook URL (embeds its token), kept in the Secret key `address`. Required. */
    readonly webhookUrl: In<string>;
    /** Name the messages are posted under. Default: the reporting Flux controller. */
    readonly username?: In<string>;
    /** HTTP/S proxy URL, kept in a proxy Secret (`spec.proxySecretRef`). Default: no proxy. */
    readonly proxy?: In<string>;
}

/** `msteams`: a Microsoft Teams message per event, through an incoming webhook / Workflows URL. */
export interface MSTeamsTarget {
    /** Provider type. Required. */
    readonly type: "msteams";
    /** Teams webhook URL (embeds its signature), kept in the Secret key `address`. Required. */
    readonly webhookUrl: In<string>;
    /** HTTP/S proxy URL, kept in a proxy Secret (`spec.proxySecretRef`). Default: no proxy. */
    readonly proxy?: In<string>;
}

/**
 * `github` (commit status) or `githubdispatch` (repository_dispatch). The notification-controller
 * does not proxy GitHub API calls made with a token, so there is no `proxy` option.
 */
export interface GitHubTarget {
    /** Provider type. Required. */
    readonly type: "github" | "githubdispatch";
    /** Repository URL, e.g. `https://github.com/owner/repo`; goes to `spec.address`. Required. */
    readonly repositoryUrl: In<string>;
    /** Token allowed to write commit statuses / dispatch events, kept in the Secret key `token`. Required. */
    readonly token: In<string>;
}

/**
 * Commit status on GitLab, Bitbucket Cloud or Azure DevOps (notification-controller v1.9.3,
 * internal/notifier/{gitlab,bitbucket,azure_devops}.go). None of them proxies its API calls.
 */
export interface GitCommitStatusTarget {
    /** Provider type. Required. */
    readonly type: "gitlab" | "bitbucket" | "azuredevops";
    /**
     * Repository URL; goes to `spec.address`. Required: `https://gitlab.com/group/project`,
     * `https://bitbucket.org/owner/repo`, `https://dev.azure.com/org/project/_git/repo`.
     */
    readonly repositoryUrl: In<string>;
    /**
     * Kept in the Secret key `token`. Required: a GitLab token with `api` scope, a Bitbucket
     * `<user>:<app password>`, an Azure DevOps personal access token (Code: status).
     */
    readonly token: In<string>;
}

/** `telegram`: a message per event through the Bot API (`https://api.telegram.org`, fixed by Flux). */
export interface TelegramTarget {
    /** Provider type. Required. */
    readonly type: "telegram";
    /** Bot token, kept in the Secret key `token` (it is part of the Bot API's URL). Required. */
    readonly token: In<string>;
    /** Chat ID or `@channelname` to post to; goes to `spec.channel`. Required. */
    readonly chatId: In<string>;
    /** HTTP/S proxy URL, kept in a proxy Secret (`spec.proxySecretRef`). Default: no proxy. */
    readonly proxy?: In<string>;
}

/** `googlechat`: a card per event through a space's incoming webhook. */
export interface GoogleChatTarget {
    /** Provider type. Required. */
    readonly type: "googlechat";
    /** Webhook URL (embeds its key and token), kept in the Secret key `address`. Required. */
    readonly webhookUrl: In<string>;
    /** HTTP/S proxy URL, kept in a proxy Secret (`spec.proxySecretRef`). Default: no proxy. */
    readonly proxy?: In<string>;
}

/**
 * `pagerduty`: events to the PagerDuty Events API v2. notification-controller v1.9.3 reads the
 * routing key only from `spec.channel` (createNotifier; NewPagerDuty), so it is there, as a
 * Pulumi secret (hidden in the state and the render, stored in the Provider object in the cluster).
 */
export interface PagerDutyTarget {
    /** Provider type. Required. */
    readonly type: "pagerduty";
    /** Integration (routing) key of the PagerDuty service; goes to `spec.channel`. Required. */
    readonly routingKey: In<string>;
    /** Events API host; goes to `spec.address`. Default: `https://events.pagerduty.com`. */
    readonly address?: In<string>;
    /** HTTP/S proxy URL, kept in a proxy Secret (`spec.proxySecretRef`). Default: no proxy. */
    readonly proxy?: In<string>;
}

/** Where a provider delivers events, with its credentials; typed per provider type. */
export type FluxProviderTarget =
    | GenericTarget
    | GenericHmacTarget
    | SlackTarget
    | DiscordTarget
    | MSTeamsTarget
    | GitHubTarget
    | GitCommitStatusTarget
    | TelegramTarget
    | GoogleChatTarget
    | PagerDutyTarget;

export interface FluxProviderArgs {
    /** Namespace of the Provider and its Secrets (Alerts using it are created there too). Required. */
    readonly namespace: In<string>;
    /** Where events go, with the credentials; decides which Secrets exist. Required. */
    readonly target: FluxProviderTarget;
    /** `metadata.name` of the Provider. Default: the component name. */
    readonly providerName?: In<string>;
    /** Timeout for sending one event; a Go duration in ms, s or m (Flux rejects hours). Default: Flux's 15s. */
    readonly timeout?: In<Duration>;
    /** Stop sending events through this provider. Default: `false` (field omitted). */
    readonly suspend?: In<boolean>;
    /** Labels on the Provider and its Secrets. Default: none. */
    readonly labels?: In<Record<string, In<string>>>;
}

/** The Secret keys a target's credentials go to (Flux's `secretRef` contract). */
function credentialData(target: FluxProviderTarget): Record<string, In<string>> {
    const data: Record<string, In<string>> = {};
    const headers = (h: In<Record<string, In<string>>>) =>
        pulumi.output(h).apply((v) => stringify(v, { lineWidth: 0 }));
    switch (target.type) {
        case "generic":
        case "generic-hmac":
            if (target.secretAddress !== undefined) data.address = target.secretAddress;
            if (target.type === "generic-hmac") data.token = target.hmacKey;
            if (target.headers !== undefined) data.headers = headers(target.headers);
            break;
        case "slack":
            if (target.webhookUrl !== undefined) data.address = target.webhookUrl;
            else data.token = target.token;
            break;
        case "discord":
        case "msteams":
        case "googlechat":
            data.address = target.webhookUrl;
            break;
        case "github":
        case "githubdispatch":
        case "gitlab":
        case "bitbucket":
        case "azuredevops":
        case "telegram":
            data.token = target.token;
            break;
        case "pagerduty":
            break;
    }
    return data;
}

/** The non-secret `spec.address` of a target, if any. */
function plainAddress(target: FluxProviderTarget): In<string> | undefined {
    switch (target.type) {
        case "generic":
        case "generic-hmac":
            return target.address;
        case "slack":
            return target.webhookUrl === undefined ? (target.address ?? SLACK_POST_MESSAGE_URL) : undefined;
        case "github":
        case "githubdispatch":
        case "gitlab":
        case "bitbucket":
        case "azuredevops":
            return target.repositoryUrl;
        case "pagerduty":
            return target.address ?? PAGERDUTY_EVENTS_URL;
        default:
            return undefined;
    }
}

/** Rejects argument combinations the types cannot rule out for untyped callers. */
function checkTarget(name: string, target: FluxProviderTarget): void {
    const t = target as unknown as Record<string, unknown>;
    const both = (a: string, b: string) => {
        if (t[a] !== undefined && t[b] !== undefined)
            throw new Error(`FluxProvider ${name}: set either ${a} or ${b}, not both`);
        if (t[a] === undefined && t[b] === undefined) throw new Error(`FluxProvider ${name}: set ${a} or ${b}`);
    };
    if (target.type === "generic" || target.type === "generic-hmac") both("address", "secretAddress");
    if (target.type === "slack") both("webhookUrl", "token");
    if (target.type === "slack" && t.webhookUrl !== undefined && t.address !== undefined) {
        throw new Error(`FluxProvider ${name}: address applies to a Slack bot token, not to a webhookUrl`);
    }
    // notification-controller sends `"channel": ""` when none is set (SlackPayload.Channel has no omitempty).
    if (target.type === "slack" && t.token !== undefined && (t.channel === undefined || t.channel === "")) {
        throw new Error(
            `FluxProvider ${name}: a Slack bot token needs a channel (chat.postMessage rejects an empty one)`,
        );
    }
    if (target.type === "slack" && t.webhookUrl !== undefined && t.channel !== undefined) {
        throw new Error(
            `FluxProvider ${name}: channel applies to a bot token; an incoming webhook posts to its own channel`,
        );
    }
}

/**
 * A Flux notification Provider (`notification.toolkit.fluxcd.io/v1beta3`). Every credential
 * (secret URLs, tokens, HMAC keys, headers, the proxy URL) is kept in a Kubernetes Secret the
 * Provider references, never in the Provider spec or an output. Alerts that use this provider
 * take it as an object (see FluxAlert) and are placed in its namespace.
 */
export class FluxProvider extends pulumi.ComponentResource {
    /** Provider type. */
    public readonly providerType: FluxProviderType;
    /** The Provider object. */
    public readonly provider: Provider;
    /** Secret with the credentials (`secretRef`), or undefined when the target has none. */
    public readonly secret: k8s.core.v1.Secret | undefined;
    /** Secret with the proxy URL under `address` (`proxySecretRef`), or undefined without a proxy. */
    public readonly proxySecret: k8s.core.v1.Secret | undefined;
    /** Name and namespace of the Provider, for Alerts. */
    public readonly ref: { readonly name: pulumi.Output<string>; readonly namespace: pulumi.Output<string> };

    constructor(name: string, args: FluxProviderArgs, opts?: pulumi.ComponentResourceOptions) {
        super("gitops:notification:FluxProvider", name, {}, opts);
        const target = args.target;
        checkTarget(name, target);
        this.providerType = target.type;

        const providerName = pulumi.output(args.providerName ?? name);
        const namespace = pulumi.output(args.namespace);
        const secretMeta = (suffix: string) => ({
            name: pulumi.interpolate`${providerName}-${suffix}`,
            namespace,
            labels: args.labels,
        });

        const data = credentialData(target);
        this.secret =
            Object.keys(data).length === 0
                ? undefined
                : new k8s.core.v1.Secret(
                      `${name}-credentials`,
                      {
                          metadata: secretMeta("provider-credentials"),
                          type: "Opaque",
                          stringData: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, pulumi.secret(v)])),
                      },
                      { parent: this },
                  );

        const proxy = "proxy" in target ? target.proxy : undefined;
        this.proxySecret =
            proxy === undefined
                ? undefined
                : new k8s.core.v1.Secret(
                      `${name}-proxy`,
                      {
                          metadata: secretMeta("provider-proxy"),
                          type: "Opaque",
                          stringData: { address: pulumi.secret(proxy) },
                      },
                      { parent: this },
                  );

        const spec: ProviderSpec = {
            type: target.type,
            address: plainAddress(target),
            channel:
                target.type === "slack"
                    ? target.channel
                    : target.type === "telegram"
                      ? target.chatId
                      : target.type === "pagerduty"
                        ? pulumi.secret(target.routingKey)
                        : undefined,
            username: target.type === "slack" || target.type === "discord" ? target.username : undefined,
            timeout: args.timeout,
            secretRef: this.secret ? { name: this.secret.metadata.name } : undefined,
            proxySecretRef: this.proxySecret ? { name: this.proxySecret.metadata.name } : undefined,
            suspend: args.suspend,
        };
        this.provider = new Provider(
            `${name}-provider`,
            {
                metadata: { name: providerName, namespace, labels: args.labels },
                spec: Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as ProviderSpec,
            },
            { parent: this, dependsOn: [this.secret, this.proxySecret].filter((s): s is k8s.core.v1.Secret => !!s) },
        );
        this.ref = {
            name: this.provider.metadata.name,
            namespace: this.provider.metadata.namespace,
        };

        this.registerOutputs({
            providerType: this.providerType,
            provider: this.provider,
            secret: this.secret,
            proxySecret: this.proxySecret,
            ref: this.ref,
        });
    }
}
