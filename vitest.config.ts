import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // Code under test that imports the package by name (the console's modules) gets its sources, built or not.
    alias: [{ find: /^etcd-connect$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) }],
  },
  test: {
    include: ["test/**/*.test.ts", "e2e/**/*.test.ts"],
    pool: "forks",
    poolOptions: {
      forks: { maxForks: 2, minForks: 1 },
    },
    testTimeout: 30000,
    hookTimeout: 60000,
    teardownTimeout: 30000,
  },
});
