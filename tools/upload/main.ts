// Runs the tool from source: `node --import tsx tools/upload/main.ts …`.
// `make upload-do` and `npm run upload` start run.cjs instead, which runs the
// precompiled bundle of entry.ts (bin/upload.cjs); see docs/upload.md.
import { main } from "./entry";

main(process.argv.slice(2));
