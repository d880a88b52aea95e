// The age X25519 identity and recipient the stack's SOPS key is encoded as (SopsAgeKey in
// sops-age-key.ts). No Pulumi here: `make seal`'s tests derive a stack's identity and recipient
// with these without loading the Pulumi SDK (about 3 s of CPU per process).

/** Length of an age X25519 secret key in bytes (age-encryption.org/v1: a 32-byte scalar). */
export const AGE_KEY_BYTES = 32;

/**
 * The age identity (`AGE-SECRET-KEY-1…`) encoding a 32-byte X25519 secret key: Bech32 with the
 * human-readable part `AGE-SECRET-KEY-`, upper-cased, exactly as age-encryption's
 * `generateX25519Identity` (and age's Go `X25519Identity.String`) encode a fresh key. Any 32 bytes
 * are a valid key (X25519 clamps the scalar when it is used).
 */
export async function ageIdentityFromBytes(key: Uint8Array): Promise<string> {
    if (key.length !== AGE_KEY_BYTES) {
        throw new Error(`an age X25519 secret key is ${AGE_KEY_BYTES} bytes, got ${key.length}`);
    }
    // @scure/base and age-encryption are ES modules: loaded with import(), which Node allows from CommonJS.
    const { bech32 } = await import("@scure/base");
    return bech32.encodeFromBytes("AGE-SECRET-KEY-", key).toUpperCase();
}

/** The public recipient (`age1…`) of an age identity, computed by age-encryption. */
export async function ageRecipient(identity: string): Promise<string> {
    const age = await import("age-encryption");
    return age.identityToRecipient(identity);
}
