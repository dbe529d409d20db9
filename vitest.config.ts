import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "packages/*/src/**/*.test.ts",
      "packages/*/test/**/*.test.ts",
      "examples/**/*.test.ts",
      "infra/**/*.test.ts",
    ],
    env: {
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
      POWERTOOLS_TRACE_ENABLED: "false",
    },
    globalSetup: ["packages/core/test/global-setup.ts"],
    testTimeout: 60_000,
    // expect.poll waits for what a loaded machine (CI) may take seconds to show (1 s by default).
    expect: { poll: { timeout: 15_000 } },
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
  },
});
