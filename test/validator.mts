/**
 * `make validate`'s object validator (tools/validate/validate.ts) for the `.mts` tests.
 * Loaded through `require`: when an ES module imports a CommonJS `.ts` file, tsx evaluates it
 * from a `data:` URL, where the validator's dynamic `import()` of the schema packages cannot
 * resolve bare specifiers.
 */
import { createRequire } from "node:module";

type Validate = typeof import("../tools/validate/validate.js");
export const { validateObject } = createRequire(import.meta.url)("../tools/validate/validate") as Validate;
