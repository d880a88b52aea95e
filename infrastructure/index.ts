// Entry point of the Pulumi program (Pulumi.yaml `main: infrastructure/`).
import { main } from "./program";

export = main();
