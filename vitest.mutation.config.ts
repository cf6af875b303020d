// The core project alone, for mutation testing (`pnpm mutate`, docs/mutation-testing.md): Stryker's
// vitest runner takes one config file and cannot pick a project out of vitest.config.ts. Same root,
// include, setup and timeouts as the `core` project there.
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    name: "core",
    root: new URL("./packages/core", import.meta.url).pathname,
    include: ["test/**/*.test.ts"],
    setupFiles: [new URL("./vitest.setup.ts", import.meta.url).pathname],
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
