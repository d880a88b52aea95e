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
    /**
     * kustomize that `make validate` builds `deploy/` with: the release whose API
     * (sigs.k8s.io/kustomize/api v0.21.1) kustomize-controller v1.9.4 (Flux 2.9.4) is built
     * with, per that controller's go.mod. Built from the Go module proxy by
     * `tools/kustomize/ensure-kustomize.sh`.
     */
    kustomize: {
        module: "sigs.k8s.io/kustomize/kustomize/v5",
        version: "v5.8.1",
    },
    /**
     * sops, which `make seal` encrypts Secret manifests with (for the stack's age recipient) and
     * the tests check sealed files with; kustomize-controller decrypts them in the cluster with
     * its own built-in SOPS, the release pinned here (kustomize-controller v1.9.4's go.mod:
     * github.com/getsops/sops/v3 v3.13.2). Built from the Go module proxy by
     * `tools/sops/ensure-sops.sh`.
     */
    sops: {
        module: "github.com/getsops/sops/v3/cmd/sops",
        version: "v3.13.2",
    },
    /**
     * Flux's variable substitution package, the release kustomize-controller v1.9.4's go.mod
     * requires. components/flux/substitute.ts follows it; test/flux-substitute-upstream.test.ts
     * compares the two on thousands of texts, building a small Go program over this release with
     * `tools/envsubst/ensure-envsubst.sh`.
     */
    envsubst: {
        module: "github.com/fluxcd/pkg/envsubst",
        version: "v1.7.0",
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
    /**
     * What `make e2e` (tools/e2e) builds from Go modules by name with `go build`, and the Go modules
     * it reads CRDs from. Nothing here is installed on a real cluster.
     */
    e2e: {
        /** etcd server (`go.etcd.io/etcd/server/v3`); the 3.6 line that Kubernetes 1.36 is tested with. */
        etcd: "v3.6.16",
        /**
         * Kubernetes (`k8s.io/kubernetes`: kube-apiserver and kubectl, with every `k8s.io/*` staging
         * module at `v0.<minor>.<patch>`). 1.36 is the line Flux 2.9's client libraries (k8s.io v0.36) target.
         */
        kubernetes: "v1.36.3",
        /**
         * The Flux controllers of Flux 2.9.4 (flux2 v2.9.4's manifests/bases and go.mod pin these;
         * `make e2e` checks that they still match).
         */
        fluxControllers: {
            "source-controller": "v1.9.4",
            "kustomize-controller": "v1.9.4",
            "helm-controller": "v1.6.3",
            "notification-controller": "v1.9.3",
        },
        /**
         * Flux's image automation controllers of Flux 2.9.4 (flux2 v2.9.4's go.mod requires their
         * `/api` modules at these versions; `make e2e` checks it). Only their CRDs
         * (`config/crd/bases`, `image.toolkit.fluxcd.io/v1`) are used; nothing is built.
         */
        imageControllers: {
            "image-reflector-controller": "v1.2.4",
            "image-automation-controller": "v1.2.4",
        },
        /** flux-operator Go module whose `config/crd/bases` are the CRDs the Flux Operator chart 0.58.1 installs. */
        fluxOperator: "v0.58.1",
        /** Contour Go module whose `examples/contour/01-crds.yaml` holds the CRDs of Contour 1.33.6 (chart 0.7.0). */
        contour: "v1.33.6",
        /**
         * Pulumi CLI (`github.com/pulumi/pulumi/pkg/v3/cmd/pulumi`, with `sdk/v3` at the same version).
         * The Go module proxy does not serve pkg/v3 v3.270.0 (the npm `@pulumi/pulumi` pin), so the
         * e2e uses the nearest newer CLI; a newer CLI runs older SDKs.
         */
        pulumi: "v3.274.1",
        /**
         * Pulumi Kubernetes provider (`github.com/pulumi/pulumi-kubernetes/provider/v4`). Its tags are
         * on the repository root, not on `provider/`, so the module exists only as commit pseudo-versions,
         * and the Go module proxy serves this one alone (January 2026, between 4.24.0 and 4.26.0).
         */
        pulumiKubernetes: "v4.0.0-20260115033456-f47bc2d6f199",
    },
} as const;

/** The SeaweedFS image the in-cluster S3 server runs. */
export const seaweedfsImage = `${versions.seaweedfs.image}:${versions.seaweedfs.tag}`;
