/**
 * The webhook path into the cluster: Contour (Envoy behind a DigitalOcean load balancer), KCert
 * for Let's Encrypt certificates, two Flux receivers (GitHub pushes; bucket uploads), their HTTPS
 * exposure with a rate limit, the DNS record and the GitHub webhook.
 * Configuration arrives already validated (see config.ts).
 */
import * as github from "@pulumi/github";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Contour } from "../components/contour";
import { SOURCE_API } from "../components/flux/api";
import { FluxReceiver } from "../components/flux-receiver";
import { GitHubWebhook, parseRepository } from "../components/github-webhook";
import { KCert } from "../components/kcert";
import { LoadBalancerDns } from "../components/load-balancer-dns";
import { ReceiverExposure } from "../components/receiver-exposure";
import type { PlatformConfig } from "./config";

/** What the webhooks need from the rest of the platform. */
export interface WebhooksContext {
    /** Kubernetes provider built from the cluster's kubeconfig (so everything here goes before the cluster on destroy). */
    readonly provider: k8s.Provider;
    /** Flux namespace. */
    readonly fluxNamespace: string;
    /** Name of the Bucket source the Flux Operator generates (`FLUX_SYNC_NAME`). */
    readonly bucketSyncName: string;
    /** The FluxInstance: Flux's CRDs and controllers exist once it is ready. */
    readonly fluxInstance: pulumi.Resource;
    /** Cluster name; the default load balancer name derives from it. */
    readonly clusterName: string;
}

export interface Webhooks {
    readonly contour: Contour;
    readonly kcert: KCert;
    /** Receiver of GitHub pushes. */
    readonly githubReceiver: FluxReceiver;
    /** Receiver the upload tool calls after a bucket sync (generic-hmac). */
    readonly bucketReceiver: FluxReceiver;
    readonly exposure: ReceiverExposure;
    readonly dns: LoadBalancerDns;
    /** The GitHub webhook, when `github.repository` is configured. */
    readonly githubWebhook?: GitHubWebhook;
    /** Stack outputs. */
    readonly outputs: Record<string, pulumi.Output<unknown>>;
}

export function createWebhooks(cfg: PlatformConfig, ctx: WebhooksContext): Webhooks {
    const { provider, fluxNamespace } = ctx;
    const host = cfg.webhook.host;

    const contour = new Contour(
        "contour",
        {
            namespace: cfg.contour.namespace,
            loadBalancerName: cfg.contour.loadBalancerName ?? `${ctx.clusterName}-envoy`,
        },
        { provider },
    );

    const kcert = new KCert(
        "kcert",
        {
            email: cfg.acme.email,
            acmeEnvironment: cfg.acme.environment,
            termsAccepted: cfg.acme.termsAccepted,
            ingressClassName: contour.ingressClassName,
            // The ConfigMap certificate request is what the httpproxy exposure relies on.
            watchConfigMaps: cfg.webhook.exposure === "httpproxy",
            fluxNamespace,
            dependsOn: [contour.release, ctx.fluxInstance],
        },
        { provider },
    );

    const githubReceiver = new FluxReceiver(
        "github-receiver",
        {
            receiverName: "github",
            namespace: fluxNamespace,
            type: "github",
            events: ["ping", "push"],
            host,
            dependsOn: [ctx.fluxInstance],
        },
        { provider },
    );

    const bucketReceiver = new FluxReceiver(
        "bucket-receiver",
        {
            receiverName: "bucket",
            namespace: fluxNamespace,
            type: "generic-hmac",
            resources: [{ apiVersion: SOURCE_API, kind: "Bucket", name: ctx.bucketSyncName }],
            host,
            dependsOn: [ctx.fluxInstance],
        },
        { provider },
    );

    const exposure = new ReceiverExposure(
        "webhook",
        {
            host,
            mode: cfg.webhook.exposure,
            namespace: fluxNamespace,
            ingressClassName: contour.ingressClassName,
            rateLimit: cfg.webhook.rateLimit,
            dependsOn: [contour.release, kcert.kustomization, ctx.fluxInstance],
        },
        { provider },
    );

    // The record uses the load balancer's IP and depends on the release owning it, so on destroy
    // it goes first, then the release (its Envoy Service: DigitalOcean deletes the load balancer),
    // then the Kubernetes provider and the cluster.
    const dns = new LoadBalancerDns("webhook-dns", {
        host,
        ip: contour.loadBalancerIp,
        zone: cfg.webhook.dnsZone,
        ttl: 300,
        dependsOn: [contour.release, contour.envoyService],
    });

    let githubWebhook: GitHubWebhook | undefined;
    if (cfg.github) {
        // Reads GITHUB_TOKEN itself; the owner comes from the repository.
        const githubProvider = new github.Provider("github", { owner: parseRepository(cfg.github.repository).owner });
        githubWebhook = new GitHubWebhook(
            "github-webhook",
            {
                repository: cfg.github.repository,
                url: githubReceiver.url,
                secret: githubReceiver.token,
                // Staging certificates chain to a root GitHub does not trust.
                insecureSsl: cfg.acme.environment === "staging",
                events: ["push"],
            },
            { provider: githubProvider },
        );
    }

    const outputs: Record<string, pulumi.Output<unknown>> = {
        webhookUrl: pulumi.secret(githubReceiver.url),
        bucketReceiverUrl: pulumi.secret(bucketReceiver.url),
        bucketReceiverToken: pulumi.secret(bucketReceiver.token),
        loadBalancerIp: contour.loadBalancerIp,
        ...(dns.dnsRecord ? { dnsRecord: dns.record } : { dnsRecordToCreate: dns.record }),
    };

    return { contour, kcert, githubReceiver, bucketReceiver, exposure, dns, githubWebhook, outputs };
}
