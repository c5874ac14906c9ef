import { defineConfig } from "vitest/config";

export default defineConfig({
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
