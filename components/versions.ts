/**
 * Every external version this project installs, in one place.
 *
 * Bump a version here and nowhere else; `make render` shows the effect and the tests
 * check that every chart, image and git tag below is the one the rendered objects use.
 */
export const versions = {
    /** Node.js LTS the project runs on; `tools/node/ensure-node.sh` installs it where the machine's Node is older than 22. */
    node: "24.22.3",
    /** Flux distribution installed by the Flux Operator (`FluxInstance.spec.distribution.version`). */
    flux: "2.9.4",
    /** Flux Operator Helm chart (OCI), which installs the operator and its CRDs. */
    fluxOperatorChart: {
        repo: "oci://ghcr.io/controlplaneio-fluxcd/charts",
        chart: "flux-operator",
        version: "0.58.1",
    },
    /** Where the Flux Operator pulls the Flux controllers' manifests and images from. */
    fluxDistribution: {
        registry: "ghcr.io/fluxcd",
        artifact: "oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests",
    },
    /** Contour ingress controller, upstream chart (Bitnami no longer ships one). */
    contourChart: {
        repo: "https://projectcontour.github.io/helm-charts",
        chart: "contour",
        /** Chart 0.7.0 ships Contour 1.33.6. */
        version: "0.7.0",
    },
    /** KCert (Let's Encrypt for Ingresses): git tag of nabsul/kcert and the image it publishes. */
    kcert: {
        repoUrl: "https://github.com/nabsul/kcert",
        tag: "v1.2.0",
        image: "nabsul/kcert",
    },
    /**
     * SeaweedFS (Apache-2.0), the S3-compatible server the existing-cluster target installs when
     * no bucket is configured: `weed mini` with `-bucket` (added in 4.30) and static identities.
     * The image is published to Docker Hub and GHCR with the release tag.
     */
    seaweedfs: {
        image: "chrislusf/seaweedfs",
        tag: "4.44",
    },
    /**
     * kind release the local quick-start workflow (.github/workflows/local-quickstart.yml) creates
     * its cluster with, using that release's default node image. The workflow reads it from here.
     */
    kind: "v0.31.0",
} as const;

/** The SeaweedFS image the in-cluster S3 server runs. */
export const seaweedfsImage = `${versions.seaweedfs.image}:${versions.seaweedfs.tag}`;

/** The KCert image reference matching the git tag the KCert source points at. */
export const kcertImage = `${versions.kcert.image}:${versions.kcert.tag}`;
