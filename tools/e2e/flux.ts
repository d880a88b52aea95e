/**
 * Flux's source-controller, kustomize-controller and notification-controller as local
 * processes against the e2e's API server: each on free 127.0.0.1 ports (metrics, health;
 * source-controller's artifact server; notification-controller's event and receiver servers),
 * with KUBECONFIG pointing at the control plane and every namespace watched, as
 * `flux install` runs them in the cluster. Flags from the controllers' own main.go (and
 * fluxcd/pkg's artifact/config flags for the storage).
 */
import path from "node:path";
import { type ControlPlane, freePort, get, waitFor } from "./cluster";
import type { Supervisor } from "./procs";

export interface FluxBinaries {
    readonly sourceController: string;
    readonly kustomizeController: string;
    readonly notificationController: string;
}

export interface FluxControllers {
    /** http://127.0.0.1:<port>: notification-controller's receiver server (`--receiverAddr`). */
    readonly receiverBase: string;
    /** http://127.0.0.1:<port>: notification-controller's event server (`--events-addr`). */
    readonly eventsUrl: string;
    /** 127.0.0.1:<port>: source-controller's artifact server. */
    readonly storageAddress: string;
}

/** The namespace the controllers report as theirs (`RUNTIME_NAMESPACE`, set by Flux's manifests). */
export const FLUX_RUNTIME_NAMESPACE = "flux-system";

/** Starts the three controllers and waits until each answers /readyz on its health port. */
export async function startFluxControllers(
    sup: Supervisor,
    bins: FluxBinaries,
    cp: ControlPlane,
    dir: string,
    timeoutMs = 120_000,
): Promise<FluxControllers> {
    const port = async () => `127.0.0.1:${await freePort()}`;
    const env = { ...process.env, KUBECONFIG: cp.kubeconfig, RUNTIME_NAMESPACE: FLUX_RUNTIME_NAMESPACE };
    const events = await port();
    const receiver = await port();
    const storage = await port();
    const common = async () => {
        const health = await port();
        return {
            health,
            args: [`--metrics-addr=${await port()}`, `--health-addr=${health}`, "--watch-all-namespaces=true"],
        };
    };

    const notification = await common();
    const nc = sup.start(
        "notification-controller",
        bins.notificationController,
        [...notification.args, `--events-addr=${events}`, `--receiverAddr=${receiver}`],
        { env },
    );
    const source = await common();
    const sc = sup.start(
        "source-controller",
        bins.sourceController,
        [
            ...source.args,
            `--events-addr=http://${events}`,
            `--storage-path=${path.join(dir, "source-controller-storage")}`,
            `--storage-addr=${storage}`,
            `--storage-adv-addr=${storage}`,
        ],
        { env },
    );
    const kustomize = await common();
    const kc = sup.start(
        "kustomize-controller",
        bins.kustomizeController,
        [...kustomize.args, `--events-addr=http://${events}`],
        { env },
    );

    for (const [proc, health] of [
        [nc, notification.health],
        [sc, source.health],
        [kc, kustomize.health],
    ] as const) {
        await waitFor(`${proc.name} answers /readyz`, proc, timeoutMs, async () => {
            const r = await get(`http://${health}/readyz`);
            return r.status === 200;
        });
    }
    return { receiverBase: `http://${receiver}`, eventsUrl: `http://${events}`, storageAddress: storage };
}
