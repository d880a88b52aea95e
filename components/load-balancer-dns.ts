import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";

/** The record name of `host` inside `zone`: `@` for the apex, else the labels before the zone. */
export function relativeRecordName(host: string, zone: string): string {
    const h = host.toLowerCase().replace(/\.$/, "");
    const z = zone.toLowerCase().replace(/\.$/, "");
    if (h === z) return "@";
    if (!h.endsWith(`.${z}`)) throw new Error(`${host} is not inside the DNS zone ${zone}`);
    return h.slice(0, -(z.length + 1));
}

export interface LoadBalancerDnsArgs {
    /** Fully qualified host name to point at the load balancer. Required. */
    readonly host: string;
    /** The load balancer's IPv4 address. Required. */
    readonly ip: pulumi.Input<string>;
    /**
     * A domain managed by DigitalOcean DNS that contains `host`; when set, the A record is created
     * in it. Default: none (no record is created; `record` tells what to create elsewhere).
     */
    readonly zone?: string;
    /** Record TTL in seconds. Default: `300`. */
    readonly ttl?: pulumi.Input<number>;
    /**
     * Resources the record depends on beyond `ip`, e.g. the release owning the load balancer, so
     * that the record is deleted before the load balancer. Default: none.
     */
    readonly dependsOn?: pulumi.Resource[];
}

/**
 * An A record for `host` pointing at a load balancer: created in DigitalOcean DNS when the zone is
 * a DigitalOcean domain, otherwise only described (`record`) for the operator to create.
 */
export class LoadBalancerDns extends pulumi.ComponentResource {
    /** The DigitalOcean record, when `zone` is set. */
    public readonly dnsRecord?: digitalocean.DnsRecord;
    /** Whether the record is managed here. */
    public readonly managed: pulumi.Output<boolean>;
    /** Host name. */
    public readonly host: pulumi.Output<string>;
    /** The IP the record points at. */
    public readonly ip: pulumi.Output<string>;
    /** The record, e.g. `flux.example.com A 203.0.113.10`. */
    public readonly record: pulumi.Output<string>;

    constructor(name: string, args: LoadBalancerDnsArgs, opts?: pulumi.ComponentResourceOptions) {
        // Throws (before anything is registered) when the host is outside the zone.
        const recordName = args.zone ? relativeRecordName(args.host, args.zone) : undefined;
        super("gitops:dns:LoadBalancerDns", name, {}, opts);
        this.ip = pulumi.output(args.ip);
        this.host = pulumi.output(args.host);

        if (args.zone && recordName) {
            this.dnsRecord = new digitalocean.DnsRecord(
                `${name}-record`,
                {
                    domain: args.zone,
                    type: "A",
                    name: recordName,
                    value: this.ip,
                    ttl: args.ttl ?? 300,
                },
                { parent: this, dependsOn: args.dependsOn },
            );
        }

        this.managed = pulumi.output(args.zone !== undefined);
        this.record = pulumi.interpolate`${args.host} A ${this.ip}`;

        this.registerOutputs({
            dnsRecord: this.dnsRecord,
            managed: this.managed,
            host: this.host,
            ip: this.ip,
            record: this.record,
        });
    }
}
