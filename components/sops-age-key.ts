import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

import { AGE_KEY_BYTES, ageIdentityFromBytes, ageRecipient } from "./age-identity";

// the encoding lives beside, without Pulumi (make seal's tests use it); exported here as before
export { AGE_KEY_BYTES, ageIdentityFromBytes, ageRecipient };

export interface SopsAgeKeyArgs {
    /**
     * Rotation trigger: change it (any string, e.g. a date) to generate a new key on the next
     * `pulumi up` (`random.RandomBytes` keepers). Default: unset (the key never changes).
     */
    readonly rotation?: pulumi.Input<string>;
}

/**
 * The stack's age key for SOPS: 32 random bytes kept in the stack's state as a secret
 * (`random.RandomBytes`, whose `base64` the provider marks secret), so the identity is the same
 * on every run of the stack and is never written anywhere in plaintext. The identity goes into
 * the `sops-age` Secret Flux decrypts with; the recipient is public and is what `make seal`
 * encrypts for.
 */
export class SopsAgeKey extends pulumi.ComponentResource {
    /** The key material in the state. */
    public readonly bytes: random.RandomBytes;
    /** The age identity `AGE-SECRET-KEY-1…` (secret). */
    public readonly identity: pulumi.Output<string>;
    /** The public recipient `age1…` (not secret). */
    public readonly recipient: pulumi.Output<string>;

    constructor(name: string, args: SopsAgeKeyArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super("gitops:sops:SopsAgeKey", name, {}, opts);
        this.bytes = new random.RandomBytes(
            `${name}-bytes`,
            {
                length: AGE_KEY_BYTES,
                ...(args.rotation !== undefined ? { keepers: { rotation: args.rotation } } : {}),
            },
            // the SDK already lists base64 and hex in additionalSecretOutputs
            { parent: this },
        );
        this.identity = pulumi.secret(
            this.bytes.base64.apply((b64) => ageIdentityFromBytes(Buffer.from(b64, "base64"))),
        );
        // Derived from a secret, so marked secret by Pulumi; the recipient is the public half.
        this.recipient = pulumi.unsecret(this.identity.apply(ageRecipient));

        this.registerOutputs({ bytes: this.bytes, identity: this.identity, recipient: this.recipient });
    }
}
