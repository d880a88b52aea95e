/** The A record for the webhook host: created in a DigitalOcean zone, or only described. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LoadBalancerDns, relativeRecordName } from "../components/load-balancer-dns";
import { inputValue, reveal, runComponent } from "./harness";

const DNS = "digitalocean:index/dnsRecord:DnsRecord";

describe("relativeRecordName", () => {
    it("is @ at the apex and the leading labels below it", () => {
        assert.equal(relativeRecordName("example.com", "example.com"), "@");
        assert.equal(relativeRecordName("flux.example.com", "example.com"), "flux");
        assert.equal(relativeRecordName("hooks.ci.example.com", "example.com"), "hooks.ci");
        assert.equal(relativeRecordName("Flux.Example.com.", "example.com"), "flux");
    });

    it("rejects hosts outside the zone, including look-alike suffixes", () => {
        assert.throws(() => relativeRecordName("flux.example.org", "example.com"), /not inside/);
        assert.throws(() => relativeRecordName("flux.notexample.com", "example.com"), /not inside/);
    });
});

describe("LoadBalancerDns", () => {
    it("with a zone: one A record, value = the IP, TTL 300", async () => {
        const { recorder, value } = await runComponent(
            () => new LoadBalancerDns("dns", { host: "hooks.ci.example.com", ip: "203.0.113.7", zone: "example.com" }),
        );
        const records = recorder.all(DNS);
        assert.equal(records.length, 1);
        assert.deepEqual(reveal(records[0].inputs), {
            domain: "example.com",
            type: "A",
            name: "hooks.ci",
            value: "203.0.113.7",
            ttl: 300,
        });
        assert.equal(records[0].parent, "gitops:dns:LoadBalancerDns::dns");
        assert.equal(await inputValue(value.managed), true);
        assert.equal(await inputValue(value.record), "hooks.ci.example.com A 203.0.113.7");
    });

    it("apex host: record name @", async () => {
        const { recorder } = await runComponent(
            () => new LoadBalancerDns("dns", { host: "example.com", ip: "203.0.113.7", zone: "example.com" }),
        );
        assert.equal(reveal<any>(recorder.all(DNS)[0].inputs).name, "@");
    });

    it("without a zone: no record, only the description of the one to create", async () => {
        const { recorder, value } = await runComponent(
            () => new LoadBalancerDns("dns", { host: "flux.example.net", ip: "198.51.100.4" }),
        );
        assert.equal(recorder.all(DNS).length, 0);
        assert.equal(await inputValue(value.managed), false);
        assert.equal(await inputValue(value.record), "flux.example.net A 198.51.100.4");
    });
});
