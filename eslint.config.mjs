// ESLint runs only the Pulumi-specific checks that need type information (an Output inside a
// template literal renders as a warning string, not the value). Layout and every other lint
// rule belong to Biome (biome.json); `npm run lint` runs both.
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

export default [
    // build output (the upload tool's bundle, which inlines libraries with their own eslint comments)
    { ignores: ["bin/**", ".stryker-tmp/**", "reports/**"] },
    {
        files: ["components/**/*.ts", "infrastructure/**/*.ts", "tools/**/*.ts"],
        languageOptions: {
            parser: tseslint.parser,
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        linterOptions: { reportUnusedDisableDirectives: "error" },
        plugins: { pulumi },
        rules: {
            "pulumi/no-output-in-template-literal": "error",
            "pulumi/no-output-instance-in-template-literal": "error",
        },
    },
];
