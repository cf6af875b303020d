import { defineConfig } from "vitest/config"

const project = (name: string, root: string, extra: Record<string, unknown> = {}) => ({
  test: {
    name,
    root,
    include: ["test/**/*.test.ts"],
    setupFiles: [new URL("./vitest.setup.ts", import.meta.url).pathname],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    ...extra
  }
})

export default defineConfig({
  test: {
    reporters: ["default", new URL("./scripts/summary-reporter.ts", import.meta.url).pathname],
    // `pnpm coverage` (README "Quality gates"): 90 % of lines and branches of the pure modules, by the
    // core project's own tests; CI fails below it
    coverage: {
      provider: "v8",
      include: ["packages/core/src/{guardrails,backup,audit,redaction,census,health,diff,shell}/**/*.ts"],
      reporter: ["text-summary", "text"],
      thresholds: { lines: 90, branches: 90 }
    },
    projects: [
      project("core", "packages/core"),
      project("transport", "packages/transport"),
      project("sandbox", "packages/sandbox"),
      project("server", "packages/server"),
      project("setup", "packages/setup"),
      { test: { name: "e2e", root: "test", include: ["**/*.test.ts"], setupFiles: [new URL("./vitest.setup.ts", import.meta.url).pathname], testTimeout: 60_000, hookTimeout: 120_000 } }
    ]
  }
})
