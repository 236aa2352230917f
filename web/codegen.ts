import type { CodegenConfig } from "@graphql-codegen/cli";

// schema.graphql is `collab schema` output (npm run schema); a Python test keeps it in sync.
const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["src/**/*.tsx", "src/**/*.ts", "!src/gql/**"],
  ignoreNoDocuments: true,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: { scalars: { DateTime: "string" }, enumsAsTypes: true, useTypeImports: true },
    },
  },
};
export default config;
